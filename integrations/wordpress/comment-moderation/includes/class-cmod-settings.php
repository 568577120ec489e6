<?php
/**
 * The plugin's settings: one option, a settings page under Settings, and a connection check.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings are one array option. The three credentials (site key, moderator token, webhook
 * secret) are write-only on the page: once saved they are shown as their last four characters,
 * and a blank field keeps the stored value.
 */
class CMod_Settings {

	const OPTION = 'cmod_settings';
	const PAGE   = 'comment-moderation';

	/** Credentials never echoed back to the page in full. */
	const SECRETS = array( 'site_key', 'moderator_token', 'webhook_secret' );

	/** Longest wait a comment form may be kept waiting for a decision, in seconds. */
	const MAX_TIMEOUT = 30.0;

	/**
	 * Defaults: hold when the service cannot be reached (never publish unscored), rejected
	 * comments go to spam, editors' own comments are not sent.
	 *
	 * @return array<string, mixed>
	 */
	public static function defaults() {
		return array(
			'service_url'     => '',
			'site_key'        => '',
			'moderator_token' => '',
			'webhook_secret'  => '',
			'timeout'         => 1.5,
			'unreachable'     => 'hold',
			'rejected_to'     => 'spam',
			'send_editors'    => false,
		);
	}

	/**
	 * All settings, stored values over defaults.
	 *
	 * @return array<string, mixed>
	 */
	public static function all() {
		$stored = get_option( self::OPTION, array() );
		return array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
	}

	/**
	 * One setting.
	 *
	 * @param string $name Setting name.
	 * @return mixed
	 */
	public static function get( $name ) {
		$all = self::all();
		return isset( $all[ $name ] ) ? $all[ $name ] : null;
	}

	/**
	 * Whether the plugin has what it needs to submit comments.
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return '' !== self::get( 'service_url' ) && '' !== self::get( 'site_key' );
	}

	/** Hooks. */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_setting' ) );
		add_action( 'admin_post_cmod_check_connection', array( __CLASS__, 'check_connection' ) );
		add_action( 'admin_notices', array( __CLASS__, 'notice_when_unconfigured' ) );
	}

	/** The page under Settings. */
	public static function add_page() {
		add_options_page(
			__( 'Comment moderation', 'comment-moderation' ),
			__( 'Comment moderation', 'comment-moderation' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render_page' )
		);
	}

	/** The option, saved through options.php (its nonce and the manage_options check). */
	public static function register_setting() {
		register_setting(
			self::PAGE,
			self::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => self::defaults(),
			)
		);
	}

	/**
	 * Clean what the form sent; blank credential fields keep the stored credential.
	 *
	 * @param mixed $input What the form posted.
	 * @return array<string, mixed>
	 */
	public static function sanitize( $input ) {
		$input   = is_array( $input ) ? wp_unslash( $input ) : array();
		$current = self::all();
		$clean   = $current;

		$url = isset( $input['service_url'] ) ? esc_url_raw( trim( (string) $input['service_url'] ), array( 'http', 'https' ) ) : '';
		if ( isset( $input['service_url'] ) && '' !== trim( (string) $input['service_url'] ) && '' === $url ) {
			add_settings_error( self::OPTION, 'service_url', __( 'The service URL must be an http or https address.', 'comment-moderation' ) );
		}
		$clean['service_url'] = untrailingslashit( $url );

		foreach ( self::SECRETS as $name ) {
			$value = isset( $input[ $name ] ) ? trim( sanitize_text_field( (string) $input[ $name ] ) ) : '';
			if ( '' !== $value ) {
				$clean[ $name ] = $value;
			}
		}

		$timeout = isset( $input['timeout'] ) ? (float) $input['timeout'] : 1.5;
		if ( $timeout <= 0 || $timeout > self::MAX_TIMEOUT ) {
			add_settings_error(
				self::OPTION,
				'timeout',
				/* translators: %s: the longest timeout in seconds. */
				sprintf( __( 'The timeout is between 0.1 and %s seconds; it was set to 1.5.', 'comment-moderation' ), self::MAX_TIMEOUT )
			);
			$timeout = 1.5;
		}
		$clean['timeout'] = max( 0.1, $timeout );

		$clean['unreachable']  = ( isset( $input['unreachable'] ) && 'wordpress' === $input['unreachable'] ) ? 'wordpress' : 'hold';
		$clean['rejected_to']  = ( isset( $input['rejected_to'] ) && 'trash' === $input['rejected_to'] ) ? 'trash' : 'spam';
		$clean['send_editors'] = ! empty( $input['send_editors'] );
		return $clean;
	}

	/**
	 * A credential as the page may show it: its last four characters.
	 *
	 * @param string $value The stored credential.
	 * @return string
	 */
	public static function masked( $value ) {
		if ( '' === $value ) {
			return __( 'not set', 'comment-moderation' );
		}
		/* translators: %s: the last four characters of a stored credential. */
		return sprintf( __( 'stored, ends in …%s', 'comment-moderation' ), substr( $value, -4 ) );
	}

	/** The settings page. */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$settings = self::all();
		$name     = self::OPTION;
		$checked  = get_transient( 'cmod_connection_check' );
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'Comment moderation', 'comment-moderation' ); ?></h1>
			<?php if ( is_array( $checked ) ) : ?>
				<?php delete_transient( 'cmod_connection_check' ); ?>
				<div class="notice notice-<?php echo esc_attr( $checked['ok'] ? 'success' : 'error' ); ?>" id="cmod-connection-result"><p><?php echo esc_html( $checked['message'] ); ?></p></div>
			<?php endif; ?>
			<form method="post" action="options.php" id="cmod-settings">
				<?php settings_fields( self::PAGE ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="cmod-service-url"><?php esc_html_e( 'Service URL', 'comment-moderation' ); ?></label></th>
						<td><input type="url" class="regular-text" id="cmod-service-url" name="<?php echo esc_attr( $name ); ?>[service_url]" value="<?php echo esc_attr( $settings['service_url'] ); ?>" placeholder="https://moderation.example" /></td>
					</tr>
					<?php
					$secrets = array(
						'site_key'        => __( 'Site key', 'comment-moderation' ),
						'moderator_token' => __( 'Moderator API token', 'comment-moderation' ),
						'webhook_secret'  => __( 'Webhook signing secret', 'comment-moderation' ),
					);
					foreach ( $secrets as $field => $label ) :
						?>
					<tr>
						<th scope="row"><label for="cmod-<?php echo esc_attr( $field ); ?>"><?php echo esc_html( $label ); ?></label></th>
						<td>
							<input type="password" class="regular-text" autocomplete="off" id="cmod-<?php echo esc_attr( $field ); ?>" name="<?php echo esc_attr( $name . '[' . $field . ']' ); ?>" value="" />
							<p class="description" id="cmod-<?php echo esc_attr( $field ); ?>-state"><?php echo esc_html( self::masked( (string) $settings[ $field ] ) ); ?>. <?php esc_html_e( 'Leave blank to keep it.', 'comment-moderation' ); ?></p>
						</td>
					</tr>
					<?php endforeach; ?>
					<tr>
						<th scope="row"><label for="cmod-timeout"><?php esc_html_e( 'Wait for a decision (seconds)', 'comment-moderation' ); ?></label></th>
						<td>
							<input type="number" step="0.1" min="0.1" max="<?php echo esc_attr( self::MAX_TIMEOUT ); ?>" id="cmod-timeout" name="<?php echo esc_attr( $name ); ?>[timeout]" value="<?php echo esc_attr( $settings['timeout'] ); ?>" />
							<p class="description"><?php esc_html_e( 'A decision ready within this time applies at once; otherwise the comment waits in the moderation queue until the service calls back.', 'comment-moderation' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'When the service cannot be reached', 'comment-moderation' ); ?></th>
						<td>
							<label><input type="radio" name="<?php echo esc_attr( $name ); ?>[unreachable]" value="hold" <?php checked( 'hold', $settings['unreachable'] ); ?> /> <?php esc_html_e( 'Hold the comment in the moderation queue and send it when the service is back (recommended)', 'comment-moderation' ); ?></label><br />
							<label><input type="radio" name="<?php echo esc_attr( $name ); ?>[unreachable]" value="wordpress" <?php checked( 'wordpress', $settings['unreachable'] ); ?> /> <?php esc_html_e( 'Let WordPress’s own discussion settings decide for now, and apply the service’s decision when it is back', 'comment-moderation' ); ?></label>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Rejected comments go to', 'comment-moderation' ); ?></th>
						<td>
							<label><input type="radio" name="<?php echo esc_attr( $name ); ?>[rejected_to]" value="spam" <?php checked( 'spam', $settings['rejected_to'] ); ?> /> <?php esc_html_e( 'Spam', 'comment-moderation' ); ?></label><br />
							<label><input type="radio" name="<?php echo esc_attr( $name ); ?>[rejected_to]" value="trash" <?php checked( 'trash', $settings['rejected_to'] ); ?> /> <?php esc_html_e( 'Trash', 'comment-moderation' ); ?></label>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Editors’ comments', 'comment-moderation' ); ?></th>
						<td><label><input type="checkbox" id="cmod-send-editors" name="<?php echo esc_attr( $name ); ?>[send_editors]" value="1" <?php checked( (bool) $settings['send_editors'] ); ?> /> <?php esc_html_e( 'Send comments of logged-in users who can moderate comments too', 'comment-moderation' ); ?></label></td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Webhook URL for the service', 'comment-moderation' ); ?></th>
						<td><code id="cmod-webhook-url"><?php echo esc_html( rest_url( CMod_Webhook::NAMESPACE_V1 . CMod_Webhook::ROUTE ) ); ?></code></td>
					</tr>
				</table>
				<?php submit_button(); ?>
			</form>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="cmod_check_connection" />
				<?php wp_nonce_field( 'cmod_check_connection' ); ?>
				<?php submit_button( __( 'Check the connection', 'comment-moderation' ), 'secondary', 'cmod-check', false ); ?>
			</form>
		</div>
		<?php
	}

	/** The "Check the connection" button: is the service up, and does it know the site key? */
	public static function check_connection() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You may not change these settings.', 'comment-moderation' ), 403 );
		}
		check_admin_referer( 'cmod_check_connection' );
		$result = CMod_Client::check_site_key();
		set_transient( 'cmod_connection_check', $result, 60 );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE ) );
		exit;
	}

	/** A reminder on the comment screens while the plugin cannot submit anything. */
	public static function notice_when_unconfigured() {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( self::is_configured() || ! $screen || 'edit-comments' !== $screen->id || ! current_user_can( 'manage_options' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-warning"><p>%s <a href="%s">%s</a></p></div>',
			esc_html__( 'Comment moderation is not set up: new comments are not sent to the service.', 'comment-moderation' ),
			esc_url( admin_url( 'options-general.php?page=' . self::PAGE ) ),
			esc_html__( 'Settings', 'comment-moderation' )
		);
	}
}

<?php
/**
 * The tests' hands inside a real WordPress, from the command line (this machine has no
 * WP-CLI): `php wp_helper.php ROOT URL COMMAND [JSON]`, answering JSON on stdout.
 *
 * install   WordPress's own installer (wp_install, what wp-admin/install.php runs), the
 *           theme, the plugin activated, a post with comments open
 * configure the plugin's settings (configure-read: as stored)
 * comment   one comment's WordPress status and the plugin's meta
 * post      a comment through wp_new_comment, as the comment form and the REST API do
 * insert    a comment with meta, bypassing the plugin (for webhook tests)
 * set-meta  change a comment's plugin meta (to play a lost answer)
 * retry     the plugin's cron event, run now as `wp cron event run` would
 * export / erase   WordPress's personal data exporter / eraser registered by the plugin
 * user      a subscriber account
 */

if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}
list( , $root, $url, $command ) = $argv;
$args = isset( $argv[4] ) ? json_decode( $argv[4], true ) : array();

$parts                  = parse_url( $url );
$_SERVER['HTTP_HOST']   = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
$_SERVER['SERVER_NAME'] = $parts['host'];
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';

if ( 'install' === $command ) {
	define( 'WP_INSTALLING', true );
}
require $root . '/wp-load.php';

/**
 * Print the answer and stop.
 *
 * @param mixed $value The answer.
 */
function answer( $value ) {
	echo wp_json_encode( $value );
	exit( 0 );
}

/**
 * A comment as the tests read it.
 *
 * @param int $id Comment id.
 * @return array|null
 */
function comment_view( $id ) {
	$comment = get_comment( $id );
	if ( ! $comment ) {
		return null;
	}
	$meta = array();
	foreach ( get_comment_meta( $id ) as $key => $values ) {
		if ( 0 === strpos( $key, '_cmod_' ) ) {
			$meta[ substr( $key, 6 ) ] = maybe_unserialize( $values[0] );
		}
	}
	return array(
		'id'       => (int) $comment->comment_ID,
		'approved' => (string) $comment->comment_approved,
		'content'  => $comment->comment_content,
		'meta'     => $meta,
	);
}

switch ( $command ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		wp_install( 'The Harbour Gazette', $args['user'], $args['email'], true, '', $args['password'] );
		switch_theme( 'twentytwentyone' );
		// Readers post as guests; WordPress's own "previously approved author" rule would
		// hold every first comment whatever the service decides (the README says so too).
		update_option( 'comment_previously_approved', 0 );
		update_option( 'comment_moderation', 0 );
		$activated = activate_plugin( 'comment-moderation/comment-moderation.php' );
		if ( is_wp_error( $activated ) ) {
			fwrite( STDERR, $activated->get_error_message() );
			exit( 1 );
		}
		$post_id = wp_insert_post(
			array(
				'post_title'     => 'Winter timetable cuts the harbour ferry to four crossings a day',
				'post_content'   => 'From December the harbour ferry will sail four times a day instead of nine, the port authority said on Tuesday. Commuters say the early crossing is the one they cannot do without.',
				'post_status'    => 'publish',
				'comment_status' => 'open',
				'post_author'    => 1,
			)
		);
		answer(
			array(
				'post_id' => $post_id,
				'post_url' => get_permalink( $post_id ),
				'webhook' => rest_url( CMod_Webhook::NAMESPACE_V1 . CMod_Webhook::ROUTE ),
			)
		);
		break;

	case 'configure':
		update_option( CMod_Settings::OPTION, array_merge( CMod_Settings::defaults(), $args ) );
		answer( CMod_Settings::all() );
		break;

	case 'configure-read':
		answer( CMod_Settings::all() );
		break;

	case 'comment':
		answer( comment_view( (int) $args['id'] ) );
		break;

	case 'find':
		$ids = get_comments(
			array(
				'search' => $args['text'],
				'status' => 'any',
				'fields' => 'ids',
			)
		);
		answer( array_map( 'comment_view', $ids ) );
		break;

	case 'post':
		$id = wp_new_comment(
			wp_slash(
				array_merge(
					array(
						'comment_post_ID' => $args['post_id'],
						'comment_author_IP' => '127.0.0.1',
						'comment_agent' => 'tests',
						'comment_type' => 'comment',
					),
					$args['comment']
				)
			),
			true
		);
		if ( is_wp_error( $id ) ) {
			answer( array( 'error' => $id->get_error_code() ) );
		}
		answer( comment_view( $id ) );
		break;

	case 'insert':
		$id = wp_insert_comment( $args['comment'] );
		foreach ( $args['meta'] as $key => $value ) {
			update_comment_meta( $id, '_cmod_' . $key, $value );
		}
		answer( comment_view( $id ) );
		break;

	case 'set-meta':
		foreach ( $args['meta'] as $key => $value ) {
			update_comment_meta( (int) $args['id'], '_cmod_' . $key, $value );
		}
		answer( comment_view( (int) $args['id'] ) );
		break;

	case 'retry':
		$scheduled = wp_next_scheduled( CMod_Retry::HOOK );
		do_action( CMod_Retry::HOOK );
		answer( array( 'scheduled' => $scheduled ) );
		break;

	case 'export':
	case 'erase':
		$filter = 'export' === $command ? 'wp_privacy_personal_data_exporters' : 'wp_privacy_personal_data_erasers';
		$tools  = apply_filters( $filter, array() );
		$result = call_user_func( $tools['comment-moderation']['callback'], $args['email'], 1 );
		answer( is_wp_error( $result ) ? array( 'error' => $result->get_error_message() ) : $result );
		break;

	case 'user':
		$user_id = wp_insert_user(
			array(
				'user_login' => $args['login'],
				'user_email' => $args['email'],
				'user_pass'  => wp_generate_password(),
				'role'       => isset( $args['role'] ) ? $args['role'] : 'subscriber',
			)
		);
		answer( array( 'id' => $user_id ) );
		break;

	default:
		fwrite( STDERR, "unknown command $command\n" );
		exit( 2 );
}

<?php
/**
 * New comments: submitted to the service before WordPress stores them, their status set by
 * the decision when it is ready within the timeout.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Two hooks:
 *
 * - `pre_comment_approved` (filter, late priority) decides the status a new comment is
 *   inserted with. It runs after WordPress's own duplicate, flood and disallowed-words checks
 *   (so those never reach the service) and before the comment is stored, so a comment is never
 *   visible, counted or announced by e-mail with a status the service did not give it.
 *   `preprocess_comment` runs before those checks, and `comment_post` after the insert, when a
 *   published comment would already be public.
 * - `wp_insert_comment` (action) records the service's id and decision against the new
 *   comment's id, which the filter cannot know yet. It also fires for comments posted through
 *   the REST API, which `comment_post` does not.
 */
class CMod_Submission {

	/**
	 * What the filter learnt, waiting for the comment to be inserted.
	 *
	 * @var array|null
	 */
	private static $outcome = null;

	/** Hooks. */
	public static function register() {
		add_filter( 'pre_comment_approved', array( __CLASS__, 'decide' ), 99, 2 );
		add_action( 'wp_insert_comment', array( __CLASS__, 'remember' ), 10, 2 );
	}

	/**
	 * Filter: the status of a new comment, by the service's decision.
	 *
	 * @param int|string|WP_Error $approved    WordPress's own verdict: 1, 0, 'spam', 'trash' or an error.
	 * @param array               $commentdata The comment, slashed.
	 * @return int|string|WP_Error
	 */
	public static function decide( $approved, $commentdata ) {
		self::$outcome = null;
		// WordPress's own spam and trash verdicts (disallowed words, Akismet) stand.
		if ( is_wp_error( $approved ) || 'spam' === $approved || 'trash' === $approved ) {
			return $approved;
		}
		if ( ! CMod_Settings::is_configured() ) {
			return $approved;
		}
		$data = wp_unslash( $commentdata );
		if ( ! self::should_send( $data ) ) {
			return $approved;
		}
		$fields  = self::fields( $data, self::idempotency_key( $data ) );
		$outcome = self::submit_and_wait( $fields, (float) CMod_Settings::get( 'timeout' ) );

		$outcome['key']     = $fields['idempotency_key'];
		$outcome['wp_held'] = 1 !== (int) $approved;
		self::$outcome      = $outcome;
		return self::initial_status( $approved, $outcome );
	}

	/**
	 * Action: keep the service's id and decision with the comment just inserted.
	 *
	 * @param int        $comment_id The new comment's id.
	 * @param WP_Comment $comment    The comment.
	 */
	public static function remember( $comment_id, $comment ) {
		$outcome       = self::$outcome;
		self::$outcome = null;
		$data          = (array) $comment;
		if ( ! is_array( $outcome ) || self::idempotency_key( $data ) !== $outcome['key'] ) {
			return;
		}
		CMod_Record::set( $comment_id, 'key', $outcome['key'] );
		if ( $outcome['wp_held'] ) {
			CMod_Record::set( $comment_id, 'wp_held', '1' );
		}
		self::record_outcome( $comment_id, $outcome );
	}

	/**
	 * Record a submission's outcome in the comment's meta.
	 *
	 * @param int   $comment_id Comment id.
	 * @param array $outcome    From submit_and_wait.
	 */
	public static function record_outcome( $comment_id, $outcome ) {
		if ( 'accepted' === $outcome['result'] ) {
			CMod_Record::save_state( $comment_id, $outcome['state'] );
			return;
		}
		CMod_Record::save_state(
			$comment_id,
			array(
				'status' => 'refused' === $outcome['result'] ? 'refused' : 'unsent',
				'reason' => 'refused' === $outcome['result']
					/* translators: %s: the service's error code. */
					? sprintf( __( 'the service did not accept it: %s', 'comment-moderation' ), $outcome['error'] )
					/* translators: %s: what went wrong. */
					: sprintf( __( 'not yet sent (%s); it will be sent again', 'comment-moderation' ), $outcome['error'] ),
			)
		);
	}

	/**
	 * Whether this comment goes to the service: readers' comments, and editors' only when the
	 * setting says so. Pingbacks and trackbacks are not readers' words.
	 *
	 * @param array $data The comment, unslashed.
	 * @return bool
	 */
	public static function should_send( $data ) {
		$type = isset( $data['comment_type'] ) ? (string) $data['comment_type'] : 'comment';
		if ( '' !== $type && 'comment' !== $type ) {
			return false;
		}
		$user_id = self::user_id( $data );
		if ( $user_id > 0 && user_can( $user_id, 'moderate_comments' ) && ! CMod_Settings::get( 'send_editors' ) ) {
			return false;
		}
		return true;
	}

	/**
	 * The comment's author's user id (0 for a guest).
	 *
	 * @param array $data The comment.
	 * @return int
	 */
	private static function user_id( $data ) {
		if ( isset( $data['user_id'] ) ) {
			return (int) $data['user_id'];
		}
		return isset( $data['user_ID'] ) ? (int) $data['user_ID'] : 0;
	}

	/**
	 * The idempotency key: a digest of what makes the comment this comment (the same fields
	 * WordPress's own duplicate check compares), so a retried submission, whether by
	 * WordPress's insert retry or by the retry job, is the same comment on the service.
	 *
	 * @param array $data The comment, unslashed (commentdata or the stored row).
	 * @return string
	 */
	public static function idempotency_key( $data ) {
		$parts = array(
			home_url(),
			isset( $data['comment_post_ID'] ) ? (string) $data['comment_post_ID'] : '',
			isset( $data['comment_parent'] ) ? (string) $data['comment_parent'] : '0',
			(string) self::user_id( $data ),
			isset( $data['comment_author'] ) ? (string) $data['comment_author'] : '',
			isset( $data['comment_author_email'] ) ? strtolower( (string) $data['comment_author_email'] ) : '',
			isset( $data['comment_content'] ) ? (string) $data['comment_content'] : '',
		);
		return 'wp-' . hash( 'sha256', implode( "\n", $parts ) );
	}

	/**
	 * The submission's JSON fields.
	 *
	 * @param array  $data The comment, unslashed.
	 * @param string $key  Its idempotency key.
	 * @return array
	 */
	public static function fields( $data, $key ) {
		$name = self::plain_text( isset( $data['comment_author'] ) ? (string) $data['comment_author'] : '' );
		if ( '' === $name ) {
			$name = __( 'Anonymous', 'comment-moderation' );
		}
		$fields    = array(
			'article_id'      => (string) $data['comment_post_ID'],
			// The service's limit on names; a longer name changes nothing about moderation.
			'author_name'     => mb_substr( $name, 0, 100, 'UTF-8' ),
			'body'            => self::plain_text( (string) $data['comment_content'] ),
			'idempotency_key' => $key,
		);
		$author_id = self::author_id( self::user_id( $data ), isset( $data['comment_author_email'] ) ? (string) $data['comment_author_email'] : '' );
		if ( null !== $author_id ) {
			$fields['author_id'] = $author_id;
		}
		return $fields;
	}

	/**
	 * The author id the service keeps for a reader: the user id of a logged-in reader, and
	 * for a guest a keyed digest of the e-mail address, so that WordPress's privacy tools can
	 * find a guest's comments by address while the service never learns the address.
	 *
	 * @param int    $user_id WordPress user id, 0 for a guest.
	 * @param string $email   The e-mail address given with the comment.
	 * @return string|null
	 */
	public static function author_id( $user_id, $email ) {
		if ( $user_id > 0 ) {
			return 'wp-user-' . $user_id;
		}
		$email = strtolower( trim( $email ) );
		if ( '' === $email ) {
			return null;
		}
		return 'wp-email-' . hash_hmac( 'sha256', $email, self::author_secret() );
	}

	/**
	 * The site's own secret for author digests, made once. Not WordPress's salts: those may be
	 * rotated, and a changed digest could no longer find the reader's comments.
	 *
	 * @return string
	 */
	private static function author_secret() {
		$secret = get_option( 'cmod_author_secret' );
		if ( ! is_string( $secret ) || '' === $secret ) {
			$secret = wp_generate_password( 64, true, true );
			add_option( 'cmod_author_secret', $secret, '', false );
			$secret = get_option( 'cmod_author_secret' );
		}
		return (string) $secret;
	}

	/**
	 * The text a reader sees, without markup: the service takes plain text.
	 *
	 * @param string $html Comment content or author name as WordPress keeps it.
	 * @return string
	 */
	public static function plain_text( $html ) {
		return trim( html_entity_decode( wp_strip_all_tags( $html ), ENT_QUOTES | ENT_HTML5, 'UTF-8' ) );
	}

	/**
	 * Submit, then ask for the decision until it is made or the timeout has passed.
	 *
	 * @param array $fields  The submission.
	 * @param float $timeout Seconds, for the whole exchange.
	 * @return array `result`: 'accepted' (with `state`), 'refused' or 'unreachable' (with `error`).
	 */
	public static function submit_and_wait( $fields, $timeout ) {
		$deadline = microtime( true ) + $timeout;
		$answer   = CMod_Client::submit_comment( $fields, $timeout );
		$code     = $answer['code'];
		if ( 0 === $code || $code >= 500 || in_array( $code, array( 401, 403, 404, 408, 429 ), true ) ) {
			// Down, overloaded, or wrongly set up: none of these is the comment's fault, so it
			// waits and is sent again.
			return array(
				'result' => 'unreachable',
				'error'  => (string) $answer['error'],
			);
		}
		if ( $code >= 400 || ! is_array( $answer['body'] ) || empty( $answer['body']['id'] ) ) {
			return array(
				'result' => 'refused',
				'error'  => (string) ( $answer['error'] ? $answer['error'] : 'HTTP ' . $code ),
			);
		}
		$state = array(
			'id'     => (string) $answer['body']['id'],
			'status' => isset( $answer['body']['status'] ) ? (string) $answer['body']['status'] : 'pending',
			'reason' => null,
			'scores' => null,
			'actor'  => null,
			'at'     => null,
		);
		// Scoring takes tens of milliseconds when the service is idle: ask soon, then less often.
		$pause = 0.05;
		while ( 'pending' === $state['status'] && microtime( true ) < $deadline ) {
			usleep( (int) ( 1e6 * min( $pause, max( 0.0, $deadline - microtime( true ) ) ) ) );
			$pause = min( 0.2, $pause * 2 );
			$state = self::ask( $state, max( 0.2, $deadline - microtime( true ) ) );
		}
		if ( 'pending' !== $state['status'] && null === $state['at'] ) {
			// A repeated submission answers with the decision already made, without its reason.
			$state = self::ask( $state, max( 0.5, $deadline - microtime( true ) ) );
		}
		return array(
			'result' => 'accepted',
			'state'  => $state,
		);
	}

	/**
	 * The service's state of a comment, or the state already known when it cannot be read.
	 *
	 * @param array $state   What is known, with the service's `id`.
	 * @param float $timeout Seconds.
	 * @return array
	 */
	private static function ask( $state, $timeout ) {
		$asked = CMod_Client::comment_state( $state['id'], $timeout );
		$known = 200 === $asked['code'] ? CMod_Record::state_from_status( $asked['body'] ) : null;
		return null === $known ? $state : $known;
	}

	/**
	 * The status a new comment is inserted with.
	 *
	 * @param int|string $approved WordPress's own verdict (1 or 0).
	 * @param array      $outcome  From submit_and_wait.
	 * @return int|string
	 */
	public static function initial_status( $approved, $outcome ) {
		if ( 'unreachable' === $outcome['result'] ) {
			return 'wordpress' === CMod_Settings::get( 'unreachable' ) ? $approved : 0;
		}
		if ( 'refused' === $outcome['result'] ) {
			return 0; // A person decides what the service would not take; never published unscored.
		}
		$status = CMod_Decisions::wordpress_status( $outcome['state']['status'], $outcome['state']['actor'], $outcome['wp_held'] );
		return '1' === $status ? 1 : ( '0' === $status ? 0 : $status );
	}
}

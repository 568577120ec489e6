<?php
/**
 * The moderation service's HTTP API, as the plugin uses it.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Each call answers an array: `code` (HTTP status, 0 when nothing answered), `body` (the
 * decoded JSON or null) and `error` (a short description when the call failed).
 */
class CMod_Client {

	/**
	 * One request to the service.
	 *
	 * @param string     $method     HTTP method.
	 * @param string     $path       Path and query, starting with a slash.
	 * @param string     $credential 'site' (the site key) or 'moderator' (the moderator token).
	 * @param float      $timeout    Seconds.
	 * @param array|null $json       Body to send as JSON.
	 * @return array{code:int, body:mixed, error:string|null}
	 */
	public static function request( $method, $path, $credential, $timeout, $json = null ) {
		$settings = CMod_Settings::all();
		$secret   = 'moderator' === $credential ? $settings['moderator_token'] : $settings['site_key'];
		if ( '' === $settings['service_url'] || '' === $secret ) {
			return array(
				'code'  => 0,
				'body'  => null,
				'error' => 'moderator' === $credential ? 'no moderator token is set' : 'the plugin is not set up',
			);
		}
		$args = array(
			'method'      => $method,
			'timeout'     => max( 0.1, (float) $timeout ),
			'redirection' => 0,
			'headers'     => array(
				'Authorization' => 'Bearer ' . $secret,
				'Accept'        => 'application/json',
				'User-Agent'    => 'comment-moderation-wordpress/' . CMOD_VERSION,
			),
		);
		if ( null !== $json ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $json );
		}
		$response = wp_remote_request( $settings['service_url'] . $path, $args );
		if ( is_wp_error( $response ) ) {
			return array(
				'code'  => 0,
				'body'  => null,
				'error' => $response->get_error_message(),
			);
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = json_decode( wp_remote_retrieve_body( $response ), true );
		$error = null;
		if ( $code < 200 || $code >= 300 ) {
			$error = ( is_array( $body ) && isset( $body['error']['code'] ) ) ? (string) $body['error']['code'] : 'HTTP ' . $code;
		}
		return array(
			'code'  => $code,
			'body'  => $body,
			'error' => $error,
		);
	}

	/**
	 * Submit a comment (POST /v1/comments).
	 *
	 * @param array $fields  article_id, author_name, body, idempotency_key, author_id.
	 * @param float $timeout Seconds.
	 * @return array
	 */
	public static function submit_comment( $fields, $timeout ) {
		return self::request( 'POST', '/v1/comments', 'site', $timeout, $fields );
	}

	/**
	 * A comment's state: status, scores, reason (GET /v1/comments/{id}).
	 *
	 * @param string $service_id The service's comment id.
	 * @param float  $timeout    Seconds.
	 * @return array
	 */
	public static function comment_state( $service_id, $timeout ) {
		return self::request( 'GET', '/v1/comments/' . rawurlencode( $service_id ), 'site', $timeout );
	}

	/**
	 * A moderator's decision (POST /v1/moderation/comments/{id}/{action}).
	 *
	 * @param string $service_id The service's comment id.
	 * @param string $action     approve, reject, remove or restore.
	 * @param string $reason     Why, as the audit log will show it.
	 * @return array
	 */
	public static function decide( $service_id, $action, $reason ) {
		return self::request(
			'POST',
			'/v1/moderation/comments/' . rawurlencode( $service_id ) . '/' . $action,
			'moderator',
			(float) CMod_Settings::get( 'timeout' ),
			array( 'reason' => $reason )
		);
	}

	/**
	 * The comment as a moderator sees it, with the highlighted words (GET /v1/moderation/comments/{id}).
	 *
	 * @param string $service_id The service's comment id.
	 * @return array
	 */
	public static function review( $service_id ) {
		return self::request( 'GET', '/v1/moderation/comments/' . rawurlencode( $service_id ), 'moderator', (float) CMod_Settings::get( 'timeout' ) );
	}

	/**
	 * Export (GET) or erase (DELETE) one reader's comments: /v1/authors/comments.
	 *
	 * @param string $method    GET or DELETE.
	 * @param string $author_id The author id the plugin sent with their comments.
	 * @return array
	 */
	public static function author_comments( $method, $author_id ) {
		// Privacy requests run in an admin's request with no reader waiting: allow longer.
		$timeout = max( 5.0, (float) CMod_Settings::get( 'timeout' ) );
		return self::request( $method, '/v1/authors/comments?author_id=' . rawurlencode( $author_id ), 'site', $timeout );
	}

	/**
	 * For the settings page: does the service answer, and does it know the site key?
	 *
	 * @return array{ok:bool, message:string}
	 */
	public static function check_site_key() {
		// An id that cannot exist: 404 means the key was accepted, 401 that it was not.
		$answer = self::comment_state( '00000000-0000-0000-0000-000000000000', 5.0 );
		if ( 404 === $answer['code'] ) {
			return array(
				'ok'      => true,
				'message' => __( 'The service answered and accepted the site key.', 'comment-moderation' ),
			);
		}
		if ( 401 === $answer['code'] ) {
			$message = __( 'The service answered but refused the site key.', 'comment-moderation' );
		} else {
			/* translators: %s: what went wrong. */
			$message = sprintf( __( 'The service could not be used: %s', 'comment-moderation' ), (string) $answer['error'] );
		}
		return array(
			'ok'      => false,
			'message' => $message,
		);
	}
}

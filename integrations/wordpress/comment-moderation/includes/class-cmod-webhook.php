<?php
/**
 * The service's webhook: signed news of holds and decisions, applied to the comments.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * POST /wp-json/comment-moderation/v1/webhook (or ?rest_route=... without pretty links).
 * Open to anyone at the REST level: the signature is the authentication.
 */
class CMod_Webhook {

	const NAMESPACE_V1 = 'comment-moderation/v1';
	const ROUTE        = '/webhook';

	/** How old a signed delivery may be, in seconds, before it is taken for a replay. */
	const TOLERANCE = 300;

	/** Hooks. */
	public static function register() {
		add_action( 'rest_api_init', array( __CLASS__, 'register_route' ) );
	}

	/** The route. */
	public static function register_route() {
		register_rest_route(
			self::NAMESPACE_V1,
			self::ROUTE,
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'receive' ),
				'permission_callback' => '__return_true',
			)
		);
	}

	/**
	 * Whether a `Moderation-Signature` header (t=<unix>,v1=<hex>) signs this body with this
	 * secret: HMAC-SHA256(secret, "<t>.<body>"), compared in constant time, and no older or
	 * newer than the tolerance.
	 *
	 * @param string $header The header's value.
	 * @param string $body   The raw request body.
	 * @param string $secret The webhook signing secret.
	 * @param int    $now    The current Unix time.
	 * @return bool
	 */
	public static function signature_is_valid( $header, $body, $secret, $now ) {
		if ( '' === $secret || ! is_string( $header ) || strlen( $header ) > 512 ) {
			return false;
		}
		$timestamp = null;
		$given     = array();
		foreach ( explode( ',', $header ) as $part ) {
			$pair = explode( '=', trim( $part ), 2 );
			if ( 2 !== count( $pair ) ) {
				continue;
			}
			if ( 't' === $pair[0] && ctype_digit( $pair[1] ) ) {
				$timestamp = (int) $pair[1];
			} elseif ( 'v1' === $pair[0] ) {
				$given[] = strtolower( $pair[1] );
			}
		}
		if ( null === $timestamp || empty( $given ) || abs( $now - $timestamp ) > self::TOLERANCE ) {
			return false;
		}
		$expected = hash_hmac( 'sha256', $timestamp . '.' . $body, $secret );
		foreach ( $given as $candidate ) {
			if ( hash_equals( $expected, $candidate ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The delivery.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function receive( $request ) {
		$body   = $request->get_body();
		$header = (string) $request->get_header( 'moderation_signature' );
		if ( ! self::signature_is_valid( $header, $body, (string) CMod_Settings::get( 'webhook_secret' ), time() ) ) {
			return new WP_Error( 'invalid_signature', 'missing, wrong or expired Moderation-Signature', array( 'status' => 401 ) );
		}
		$document = json_decode( $body, true );
		$comment  = is_array( $document ) && isset( $document['comment'] ) && is_array( $document['comment'] ) ? $document['comment'] : null;
		if ( null === $comment || empty( $comment['id'] ) || ! isset( $comment['status'] ) || ! in_array( $comment['status'], CMod_Record::STATUSES, true ) ) {
			return new WP_Error( 'invalid_delivery', 'the delivery has no comment with an id and a status', array( 'status' => 400 ) );
		}
		$comment_id = CMod_Record::find_by_service_id( (string) $comment['id'] );
		if ( 0 === $comment_id ) {
			// Also the case when the decision overtakes the comment's own insert: the service
			// retries the delivery, and by then the comment is stored.
			return new WP_Error( 'unknown_comment', 'no comment here has that id', array( 'status' => 404 ) );
		}
		$actor  = isset( $comment['actor'] ) ? (string) $comment['actor'] : null;
		$reason = isset( $comment['reason'] ) ? (string) $comment['reason'] : null;
		if ( null !== $reason && CMod_Decisions::is_moderator( $actor ) ) {
			// Written as the service writes a moderator's decision on the comment itself.
			$reason = $actor . ': ' . $reason;
		}
		$outcome = CMod_Decisions::apply(
			$comment_id,
			array(
				'status' => (string) $comment['status'],
				'reason' => $reason,
				'scores' => isset( $comment['scores'] ) && is_array( $comment['scores'] ) ? $comment['scores'] : null,
				'actor'  => $actor,
				'at'     => CMod_Record::timestamp( isset( $comment['at'] ) ? $comment['at'] : null ),
			)
		);
		return new WP_REST_Response(
			array(
				'comment' => $comment_id,
				'outcome' => $outcome,
			),
			200
		);
	}
}

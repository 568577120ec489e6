<?php
/**
 * What the plugin knows about a comment on the service's side, kept in comment meta.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Meta keys (all hidden, leading underscore):
 * `_cmod_key` the idempotency key; `_cmod_id` the service's comment id; `_cmod_status` the
 * service's status, or `unsent` (not yet accepted by the service) or `refused` (the service
 * said the comment breaks one of its rules); `_cmod_reason`, `_cmod_scores`, `_cmod_actor`;
 * `_cmod_event_at` when the last applied decision was made there (older news is ignored);
 * `_cmod_wp_held` when WordPress's own discussion rules held the comment; `_cmod_wanted` a
 * WordPress moderator's decision not yet recorded by the service; `_cmod_checked` when the
 * plugin last asked the service.
 */
class CMod_Record {

	const STATUSES = array( 'pending', 'approved', 'held', 'rejected', 'removed', 'erased' );

	/**
	 * A meta value of the comment.
	 *
	 * @param int    $comment_id Comment id.
	 * @param string $name       Key without the `_cmod_` prefix.
	 * @return mixed '' when unset.
	 */
	public static function get( $comment_id, $name ) {
		return get_comment_meta( $comment_id, '_cmod_' . $name, true );
	}

	/**
	 * Set (or, with null, delete) a meta value.
	 *
	 * @param int    $comment_id Comment id.
	 * @param string $name       Key without the `_cmod_` prefix.
	 * @param mixed  $value      Value; null deletes.
	 */
	public static function set( $comment_id, $name, $value ) {
		if ( null === $value ) {
			delete_comment_meta( $comment_id, '_cmod_' . $name );
			return;
		}
		update_comment_meta( $comment_id, '_cmod_' . $name, $value );
	}

	/**
	 * The comment that the service knows under this id, if this site has it.
	 *
	 * @param string $service_id The service's comment id.
	 * @return int 0 when not found.
	 */
	public static function find_by_service_id( $service_id ) {
		$found = get_comments(
			array(
				'meta_key'   => '_cmod_id', // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key -- one row, by key and value.
				'meta_value' => $service_id, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_value
				'status'     => 'any',
				'number'     => 1,
				'fields'     => 'ids',
			)
		);
		return empty( $found ) ? 0 : (int) $found[0];
	}

	/**
	 * Record what the service says of the comment.
	 *
	 * @param int   $comment_id Comment id.
	 * @param array $state      status, and any of id, reason, scores, actor, at (a timestamp).
	 */
	public static function save_state( $comment_id, $state ) {
		if ( ! empty( $state['id'] ) ) {
			self::set( $comment_id, 'id', (string) $state['id'] );
		}
		self::set( $comment_id, 'status', (string) $state['status'] );
		if ( array_key_exists( 'reason', $state ) && null !== $state['reason'] ) {
			self::set( $comment_id, 'reason', (string) $state['reason'] );
		}
		// A moderator's decision carries no scores; the model's stay on record.
		if ( ! empty( $state['scores'] ) && is_array( $state['scores'] ) ) {
			self::set( $comment_id, 'scores', array_map( 'floatval', $state['scores'] ) );
		}
		if ( ! empty( $state['actor'] ) ) {
			self::set( $comment_id, 'actor', (string) $state['actor'] );
		}
		if ( isset( $state['at'] ) && null !== $state['at'] ) {
			self::set( $comment_id, 'event_at', (string) $state['at'] );
		}
		self::set( $comment_id, 'checked', time() );
	}

	/**
	 * A service timestamp (ISO 8601) as seconds with microseconds, for ordering decisions.
	 *
	 * @param string|null $iso Timestamp as the service writes it.
	 * @return float|null
	 */
	public static function timestamp( $iso ) {
		if ( ! is_string( $iso ) || '' === $iso ) {
			return null;
		}
		try {
			$when = new DateTimeImmutable( $iso );
		} catch ( Exception $e ) {
			return null;
		}
		return (float) $when->format( 'U.u' );
	}

	/**
	 * The service's state from GET /v1/comments/{id}, in the form save_state takes.
	 *
	 * @param array $body The decoded answer.
	 * @return array|null
	 */
	public static function state_from_status( $body ) {
		if ( ! is_array( $body ) || ! isset( $body['status'] ) || ! in_array( $body['status'], self::STATUSES, true ) ) {
			return null;
		}
		$reason = isset( $body['reason'] ) ? (string) $body['reason'] : null;
		// The service writes a moderator's decision as "moderator:NAME: why"; anything else
		// was the model's (or a word list's) doing.
		$actor = ( null !== $reason && preg_match( '/^(moderator:[^:\s]+):/', $reason, $match ) ) ? $match[1] : 'model';
		return array(
			'id'     => isset( $body['id'] ) ? (string) $body['id'] : null,
			'status' => (string) $body['status'],
			'reason' => $reason,
			'scores' => isset( $body['scores'] ) && is_array( $body['scores'] ) ? $body['scores'] : null,
			'actor'  => 'pending' === $body['status'] ? null : $actor,
			'at'     => self::timestamp( isset( $body['decided_at'] ) ? $body['decided_at'] : null ),
		);
	}
}

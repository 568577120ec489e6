<?php
/**
 * A WordPress moderator's approve, spam, trash or unapprove, sent to the service as a
 * moderator's decision (so the two queues agree, and the decision becomes a label there).
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * The wanted WordPress status is kept in `_cmod_wanted` until the service has recorded the
 * matching decision: sent at once, and again by the retry job if the service was unreachable
 * or had not decided the comment yet (a moderator may be quicker than the model).
 */
class CMod_Moderator_Sync {

	/** Hooks. */
	public static function register() {
		add_action( 'transition_comment_status', array( __CLASS__, 'on_transition' ), 10, 3 );
		add_action( 'delete_comment', array( __CLASS__, 'on_delete' ), 10, 2 );
	}

	/**
	 * A comment changed status in WordPress.
	 *
	 * @param string     $new_status 'approved', 'unapproved', 'spam', 'trash'.
	 * @param string     $old_status The previous status.
	 * @param WP_Comment $comment    The comment.
	 */
	public static function on_transition( $new_status, $old_status, $comment ) {
		if ( CMod_Decisions::$applying || $new_status === $old_status ) {
			return;
		}
		if ( ! in_array( $new_status, array( 'approved', 'unapproved', 'spam', 'trash' ), true ) ) {
			return;
		}
		$status = CMod_Record::get( $comment->comment_ID, 'status' );
		if ( '' === $status || 'refused' === $status ) {
			return; // Not a comment the service has, or will have.
		}
		CMod_Record::set(
			$comment->comment_ID,
			'wanted',
			array(
				'to' => $new_status,
				'by' => self::who(),
			)
		);
		self::send( (int) $comment->comment_ID );
	}

	/**
	 * A comment is being deleted for good: its meta goes with it, so this is the one chance.
	 *
	 * @param string     $comment_id The comment's id.
	 * @param WP_Comment $comment    The comment.
	 */
	public static function on_delete( $comment_id, $comment ) {
		if ( CMod_Decisions::$applying ) {
			return;
		}
		$status     = CMod_Record::get( $comment_id, 'status' );
		$service_id = CMod_Record::get( $comment_id, 'id' );
		$action     = self::action_for( (string) $status, 'delete' );
		if ( '' !== $service_id && null !== $action ) {
			CMod_Client::decide( $service_id, $action, self::reason( 'delete', self::who() ) );
		}
	}

	/**
	 * Send the wanted decision, if the service's state allows one.
	 *
	 * @param int  $comment_id Comment id.
	 * @param bool $may_reread On a conflict, read the service's state and try once more.
	 * @return string 'done' (nothing left to send), 'waiting' (for the service to have and
	 *                decide the comment) or 'unreachable' (send again later).
	 */
	public static function send( $comment_id, $may_reread = true ) {
		$wanted     = CMod_Record::get( $comment_id, 'wanted' );
		$status     = (string) CMod_Record::get( $comment_id, 'status' );
		$service_id = (string) CMod_Record::get( $comment_id, 'id' );
		if ( ! is_array( $wanted ) ) {
			return 'done';
		}
		if ( '' === $service_id || 'unsent' === $status || 'pending' === $status ) {
			return 'waiting'; // Sent once the service has the comment and has decided it.
		}
		$action = self::action_for( $status, $wanted['to'] );
		if ( null === $action ) {
			CMod_Record::set( $comment_id, 'wanted', null ); // The service already agrees.
			return 'done';
		}
		$answer = CMod_Client::decide( $service_id, $action, self::reason( $wanted['to'], $wanted['by'] ) );
		if ( $answer['code'] >= 200 && $answer['code'] < 300 && is_array( $answer['body'] ) ) {
			CMod_Record::save_state(
				$comment_id,
				array(
					'status' => (string) $answer['body']['status'],
					'reason' => 'wordpress:' . $wanted['by'] . ': ' . self::reason( $wanted['to'], $wanted['by'] ),
					'actor'  => 'wordpress:' . $wanted['by'],
				)
			);
			CMod_Record::set( $comment_id, 'wanted', null );
			return 'done';
		}
		if ( 409 === $answer['code'] && $may_reread ) {
			// The comment moved on the service meanwhile: decide again from where it is now.
			$asked = CMod_Client::comment_state( $service_id, (float) CMod_Settings::get( 'timeout' ) );
			$known = 200 === $asked['code'] ? CMod_Record::state_from_status( $asked['body'] ) : null;
			if ( null !== $known ) {
				CMod_Record::save_state( $comment_id, $known );
				return self::send( $comment_id, false );
			}
			return 'unreachable';
		}
		if ( in_array( $answer['code'], array( 400, 403, 404, 409, 422 ), true ) ) {
			// The service will not take this decision, however often it is sent.
			CMod_Record::set( $comment_id, 'wanted', null );
			CMod_Record::set( $comment_id, 'sync_error', (string) $answer['error'] );
			return 'done';
		}
		return 'unreachable'; // Or not authorised yet: the retry job sends it again.
	}

	/**
	 * The service's action that brings a comment in `$status` to the WordPress status.
	 *
	 * @param string $status The service's status.
	 * @param string $to     'approved', 'unapproved', 'spam', 'trash' or 'delete'.
	 * @return string|null null when the service's state already matches, or cannot follow.
	 */
	public static function action_for( $status, $to ) {
		if ( 'approved' === $to ) {
			if ( 'held' === $status ) {
				return 'approve';
			}
			return in_array( $status, array( 'rejected', 'removed' ), true ) ? 'restore' : null;
		}
		if ( in_array( $to, array( 'spam', 'trash', 'delete' ), true ) ) {
			if ( 'held' === $status ) {
				return 'reject';
			}
			return 'approved' === $status ? 'remove' : null;
		}
		if ( 'unapproved' === $to ) {
			return 'approved' === $status ? 'remove' : null;
		}
		return null;
	}

	/**
	 * The reason the service's audit log shows.
	 *
	 * @param string $to The WordPress status.
	 * @param string $by The WordPress user's login.
	 * @return string
	 */
	public static function reason( $to, $by ) {
		$what = array(
			'approved'   => 'approved',
			'unapproved' => 'unapproved',
			'spam'       => 'marked as spam',
			'trash'      => 'moved to the trash',
			'delete'     => 'deleted',
		);
		return sprintf( '%s in WordPress by %s', isset( $what[ $to ] ) ? $what[ $to ] : $to, $by );
	}

	/**
	 * The acting WordPress user's login.
	 *
	 * @return string
	 */
	private static function who() {
		$user = wp_get_current_user();
		return ( $user && $user->exists() ) ? $user->user_login : 'wordpress';
	}
}

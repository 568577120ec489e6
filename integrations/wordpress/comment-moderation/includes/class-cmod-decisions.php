<?php
/**
 * The service's decisions as WordPress comment statuses.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Maps the service's statuses to WordPress's and applies them, whichever way the news came
 * (the answer to a submission, the webhook, or the retry job asking).
 */
class CMod_Decisions {

	/**
	 * True while the plugin itself changes a comment's status, so that the change is not
	 * mistaken for a WordPress moderator's decision and sent back to the service.
	 *
	 * @var bool
	 */
	public static $applying = false;

	/**
	 * The WordPress status ('1', '0', 'spam', 'trash') for a service status.
	 *
	 * @param string      $status  The service's status.
	 * @param string|null $actor   Who decided there ("model:...", "moderator:NAME").
	 * @param bool        $wp_held Whether WordPress's own discussion rules held the comment.
	 * @return string
	 */
	public static function wordpress_status( $status, $actor, $wp_held ) {
		switch ( $status ) {
			case 'approved':
				// WordPress's own hold rules (manual approval, moderation words) are the site
				// owner's choice: the model's approval does not override them, a human's does.
				return ( $wp_held && ! self::is_moderator( $actor ) ) ? '0' : '1';
			case 'rejected':
				return 'trash' === CMod_Settings::get( 'rejected_to' ) ? 'trash' : 'spam';
			case 'removed':
			case 'erased':
				return 'trash';
			default: // held, pending.
				return '0';
		}
	}

	/**
	 * Whether an actor of the service is a human moderator.
	 *
	 * @param string|null $actor The actor.
	 * @return bool
	 */
	public static function is_moderator( $actor ) {
		return is_string( $actor ) && 0 === strpos( $actor, 'moderator:' );
	}

	/**
	 * Record what the service says of a comment and move the comment to match.
	 *
	 * @param int   $comment_id Comment id.
	 * @param array $state      As CMod_Record::save_state takes it.
	 * @return string 'applied', 'stale' (older than what was already applied) or 'missing'.
	 */
	public static function apply( $comment_id, $state ) {
		$comment = get_comment( $comment_id );
		if ( ! $comment ) {
			return 'missing';
		}
		// Deliveries are retried and may arrive out of order: a hold announced after the
		// moderator's approval must not pull the comment back into the queue.
		$last = CMod_Record::get( $comment_id, 'event_at' );
		if ( null !== $state['at'] && '' !== $last && (float) $state['at'] < (float) $last ) {
			// A resend of a comment the service already has (its answer was lost) brings the
			// decision's time, older than the webhook event we kept: the service does have
			// it, so it is no longer waiting to be sent.
			if ( 'unsent' === CMod_Record::get( $comment_id, 'status' ) ) {
				CMod_Record::set( $comment_id, 'status', (string) $state['status'] );
			}
			return 'stale';
		}
		// Nothing goes back to pending on the service, nor back to held once decided.
		$known = CMod_Record::get( $comment_id, 'status' );
		if ( 'pending' === $state['status'] && in_array( $known, array( 'held', 'approved', 'rejected', 'removed', 'erased' ), true ) ) {
			return 'stale';
		}
		if ( 'held' === $state['status'] && in_array( $known, array( 'approved', 'rejected', 'removed', 'erased' ), true ) ) {
			return 'stale';
		}
		CMod_Record::save_state( $comment_id, $state );

		if ( is_array( CMod_Record::get( $comment_id, 'wanted' ) ) ) {
			// A WordPress moderator decided first: theirs is sent to the service, not undone.
			CMod_Moderator_Sync::send( $comment_id );
			return 'applied';
		}
		$target = self::wordpress_status( $state['status'], $state['actor'], '1' === CMod_Record::get( $comment_id, 'wp_held' ) );
		self::set_wordpress_status( $comment, $target );
		return 'applied';
	}

	/**
	 * Move a comment to a WordPress status, without echoing the move back to the service.
	 *
	 * @param WP_Comment $comment The comment.
	 * @param string     $target  '1', '0', 'spam' or 'trash'.
	 */
	public static function set_wordpress_status( $comment, $target ) {
		if ( (string) $comment->comment_approved === $target ) {
			return;
		}
		self::$applying = true;
		try {
			if ( 'spam' === $target ) {
				wp_spam_comment( $comment );
			} elseif ( 'trash' === $target ) {
				wp_trash_comment( $comment );
			} else {
				wp_set_comment_status( $comment, '1' === $target ? 'approve' : 'hold' );
			}
		} finally {
			self::$applying = false;
		}
	}
}

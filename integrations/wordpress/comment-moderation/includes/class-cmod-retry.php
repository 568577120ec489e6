<?php
/**
 * The retry job (WP-Cron, every minute): nothing a reader posted is lost while the service
 * is away, and no decision is missed when a webhook is.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Each run, in batches so one run stays short:
 * 1. comments not yet accepted by the service are sent again, with their idempotency key;
 * 2. comments the service had not decided yet (and, less often, those it holds) are asked
 *    about, in case the webhook is not set up or its deliveries were lost;
 * 3. WordPress moderators' decisions the service has not recorded yet are sent again.
 * A batch stops at the first answer that says the service is unreachable.
 */
class CMod_Retry {

	const HOOK     = 'cmod_retry';
	const SCHEDULE = 'cmod_every_minute';
	const BATCH    = 20;

	/** Ask about a held comment at most this often, in seconds: webhooks are the usual way. */
	const HELD_RECHECK = 900;

	/** Ask about a comment still pending on the service after this many seconds. */
	const PENDING_RECHECK = 20;

	/** Hooks. */
	public static function register() {
		add_filter( 'cron_schedules', array( __CLASS__, 'add_schedule' ) ); // phpcs:ignore WordPress.WP.CronInterval.ChangeDetected -- 60 s on purpose: held comments wait for this.
		add_action( self::HOOK, array( __CLASS__, 'run' ) );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
	}

	/**
	 * The one-minute schedule.
	 *
	 * @param array $schedules WordPress's schedules.
	 * @return array
	 */
	public static function add_schedule( $schedules ) {
		$schedules[ self::SCHEDULE ] = array(
			'interval' => 60,
			'display'  => __( 'Every minute', 'comment-moderation' ),
		);
		return $schedules;
	}

	/** Schedule the job (on activation, and whenever it went missing). */
	public static function schedule() {
		if ( ! wp_next_scheduled( self::HOOK ) ) {
			wp_schedule_event( time() + 60, self::SCHEDULE, self::HOOK );
		}
	}

	/** Stop the job (on deactivation). */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::HOOK );
	}

	/**
	 * One run.
	 *
	 * @return array{sent:int, checked:int, synced:int}
	 */
	public static function run() {
		$done = array(
			'sent'    => 0,
			'checked' => 0,
			'synced'  => 0,
		);
		if ( ! CMod_Settings::is_configured() ) {
			return $done;
		}
		$timeout = (float) CMod_Settings::get( 'timeout' );

		foreach ( self::comments_with( '_cmod_status', 'unsent' ) as $comment ) {
			$key     = (string) CMod_Record::get( $comment->comment_ID, 'key' );
			$data    = (array) $comment;
			$outcome = CMod_Submission::submit_and_wait( CMod_Submission::fields( $data, '' !== $key ? $key : CMod_Submission::idempotency_key( $data ) ), $timeout );
			if ( 'unreachable' === $outcome['result'] ) {
				CMod_Submission::record_outcome( (int) $comment->comment_ID, $outcome );
				break;
			}
			if ( 'accepted' === $outcome['result'] ) {
				CMod_Decisions::apply( (int) $comment->comment_ID, $outcome['state'] );
			} else {
				CMod_Submission::record_outcome( (int) $comment->comment_ID, $outcome );
			}
			++$done['sent'];
		}

		$due = array_merge(
			self::comments_with( '_cmod_status', 'pending', time() - self::PENDING_RECHECK ),
			self::comments_with( '_cmod_status', 'held', time() - self::HELD_RECHECK )
		);
		foreach ( $due as $comment ) {
			$answer = CMod_Client::comment_state( (string) CMod_Record::get( $comment->comment_ID, 'id' ), $timeout );
			if ( 0 === $answer['code'] || $answer['code'] >= 500 ) {
				break;
			}
			if ( 404 === $answer['code'] ) {
				// The service does not have it (its store was replaced, or the site was made
				// anew): send it again, under the same key.
				CMod_Record::set( $comment->comment_ID, 'status', 'unsent' );
				continue;
			}
			$state = 200 === $answer['code'] ? CMod_Record::state_from_status( $answer['body'] ) : null;
			if ( null === $state ) {
				CMod_Record::set( $comment->comment_ID, 'checked', time() );
				continue;
			}
			CMod_Decisions::apply( (int) $comment->comment_ID, $state );
			++$done['checked'];
		}

		foreach ( self::comments_with( '_cmod_wanted', null ) as $comment ) {
			$sent = CMod_Moderator_Sync::send( (int) $comment->comment_ID );
			if ( 'unreachable' === $sent ) {
				break;
			}
			if ( 'done' === $sent ) {
				++$done['synced'];
			}
		}
		return $done;
	}

	/**
	 * Up to a batch of comments (oldest first, any status) with this meta value, or with the
	 * meta key at all when `$value` is null; optionally only those not asked about since.
	 *
	 * @param string      $key           Meta key.
	 * @param string|null $value         Meta value, or null for any.
	 * @param int|null    $checked_before Unix time.
	 * @return WP_Comment[]
	 */
	private static function comments_with( $key, $value, $checked_before = null ) {
		$clauses = array(
			null === $value
				? array(
					'key'     => $key,
					'compare' => 'EXISTS',
				)
				: array(
					'key'   => $key,
					'value' => $value,
				),
		);
		if ( null !== $checked_before ) {
			$clauses[] = array(
				'key'     => '_cmod_checked',
				'value'   => $checked_before,
				'compare' => '<',
				'type'    => 'NUMERIC',
			);
		}
		return get_comments(
			array(
				'status'     => 'any',
				'meta_query' => $clauses, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_query -- a batch a minute.
				'orderby'    => 'comment_date_gmt',
				'order'      => 'ASC',
				'number'     => self::BATCH,
			)
		);
	}
}

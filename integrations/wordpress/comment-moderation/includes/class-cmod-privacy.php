<?php
/**
 * WordPress's personal data tools (Tools → Export / Erase Personal Data) reach the copies the
 * service keeps, through its author endpoints.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * A reader is known to the service by the author ids the plugin sent: `wp-user-<id>` for the
 * account with that address, and the keyed digest of the address for comments posted as a guest.
 */
class CMod_Privacy {

	const GROUP = 'comment-moderation';

	/** Hooks. */
	public static function register() {
		add_filter( 'wp_privacy_personal_data_exporters', array( __CLASS__, 'add_exporter' ) );
		add_filter( 'wp_privacy_personal_data_erasers', array( __CLASS__, 'add_eraser' ) );
	}

	/**
	 * Register the exporter.
	 *
	 * @param array $exporters WordPress's exporters.
	 * @return array
	 */
	public static function add_exporter( $exporters ) {
		$exporters[ self::GROUP ] = array(
			'exporter_friendly_name' => __( 'Comment moderation service', 'comment-moderation' ),
			'callback'               => array( __CLASS__, 'export' ),
		);
		return $exporters;
	}

	/**
	 * Register the eraser.
	 *
	 * @param array $erasers WordPress's erasers.
	 * @return array
	 */
	public static function add_eraser( $erasers ) {
		$erasers[ self::GROUP ] = array(
			'eraser_friendly_name' => __( 'Comment moderation service', 'comment-moderation' ),
			'callback'             => array( __CLASS__, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * The author ids the service may know this address by.
	 *
	 * @param string $email E-mail address.
	 * @return string[]
	 */
	public static function author_ids( $email ) {
		$ids  = array( CMod_Submission::author_id( 0, $email ) );
		$user = get_user_by( 'email', $email );
		if ( $user ) {
			$ids[] = CMod_Submission::author_id( (int) $user->ID, $email );
		}
		return array_values( array_filter( $ids ) );
	}

	/**
	 * Exporter: the service's copies of the reader's comments, one page (the service answers
	 * every comment of an author at once).
	 *
	 * @param string $email E-mail address.
	 * @param int    $page  Page, from 1.
	 * @return array
	 */
	public static function export( $email, $page = 1 ) {
		$items = array();
		if ( ! CMod_Settings::is_configured() ) {
			return array(
				'data' => $items,
				'done' => true,
			);
		}
		foreach ( self::author_ids( $email ) as $author_id ) {
			$answer = CMod_Client::author_comments( 'GET', $author_id );
			if ( 200 !== $answer['code'] || ! isset( $answer['body']['comments'] ) ) {
				return new WP_Error(
					'cmod_export_failed',
					/* translators: %s: what went wrong. */
					sprintf( __( 'The comment moderation service could not be asked: %s', 'comment-moderation' ), (string) $answer['error'] )
				);
			}
			foreach ( $answer['body']['comments'] as $kept ) {
				$items[] = array(
					'group_id'    => self::GROUP,
					'group_label' => __( 'Comments kept by the moderation service', 'comment-moderation' ),
					'item_id'     => 'cmod-' . $kept['id'],
					'data'        => array(
						array(
							'name'  => __( 'Comment', 'comment-moderation' ),
							'value' => (string) $kept['body'],
						),
						array(
							'name'  => __( 'Name', 'comment-moderation' ),
							'value' => (string) $kept['author_name'],
						),
						array(
							'name'  => __( 'Post ID', 'comment-moderation' ),
							'value' => (string) $kept['article_id'],
						),
						array(
							'name'  => __( 'Status', 'comment-moderation' ),
							'value' => (string) $kept['status'],
						),
						array(
							'name'  => __( 'Submitted', 'comment-moderation' ),
							'value' => (string) $kept['created_at'],
						),
					),
				);
			}
		}
		return array(
			'data' => $items,
			'done' => true,
		);
	}

	/**
	 * Eraser: the service erases the reader's comments (text and author; its audit trail
	 * keeps that it happened).
	 *
	 * @param string $email E-mail address.
	 * @param int    $page  Page, from 1.
	 * @return array
	 */
	public static function erase( $email, $page = 1 ) {
		$removed  = 0;
		$messages = array();
		$retained = false;
		if ( ! CMod_Settings::is_configured() ) {
			return array(
				'items_removed'  => false,
				'items_retained' => false,
				'messages'       => $messages,
				'done'           => true,
			);
		}
		foreach ( self::author_ids( $email ) as $author_id ) {
			$answer = CMod_Client::author_comments( 'DELETE', $author_id );
			if ( 200 === $answer['code'] && isset( $answer['body']['erased'] ) ) {
				$removed += (int) $answer['body']['erased'];
				continue;
			}
			$retained   = true;
			$messages[] = sprintf(
				/* translators: %s: what went wrong. */
				__( 'The comment moderation service could not erase this reader’s comments (%s); run the erasure again.', 'comment-moderation' ),
				(string) $answer['error']
			);
		}
		return array(
			'items_removed'  => $removed > 0,
			'items_retained' => $retained,
			'messages'       => $messages,
			'done'           => true,
		);
	}
}

<?php
/**
 * What WordPress's comment screens show of the service: a column in the list (status,
 * reason, scores) and a box on the edit screen with the words that drove the score.
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

/**
 * Everything is escaped where it is printed; the body and reason are readers' and the
 * service's words, never markup.
 */
class CMod_Admin_View {

	const COLUMN = 'cmod_moderation';

	/** How many scores the list shows, highest first. */
	const LIST_SCORES = 3;

	/** Hooks. */
	public static function register() {
		add_filter( 'manage_edit-comments_columns', array( __CLASS__, 'add_column' ) );
		add_action( 'manage_comments_custom_column', array( __CLASS__, 'render_column' ), 10, 2 );
		add_action( 'add_meta_boxes_comment', array( __CLASS__, 'add_box' ) );
		add_action( 'admin_head-edit-comments.php', array( __CLASS__, 'styles' ) );
		add_action( 'admin_head-comment.php', array( __CLASS__, 'styles' ) );
	}

	/**
	 * The column, after the comment itself.
	 *
	 * @param array $columns The list's columns.
	 * @return array
	 */
	public static function add_column( $columns ) {
		$placed = array();
		foreach ( $columns as $name => $label ) {
			$placed[ $name ] = $label;
			if ( 'comment' === $name ) {
				$placed[ self::COLUMN ] = __( 'Moderation service', 'comment-moderation' );
			}
		}
		if ( ! isset( $placed[ self::COLUMN ] ) ) {
			$placed[ self::COLUMN ] = __( 'Moderation service', 'comment-moderation' );
		}
		return $placed;
	}

	/**
	 * One cell: status, reason and the highest scores.
	 *
	 * @param string $column     Column name.
	 * @param int    $comment_id Comment id.
	 */
	public static function render_column( $column, $comment_id ) {
		if ( self::COLUMN !== $column ) {
			return;
		}
		$status = (string) CMod_Record::get( $comment_id, 'status' );
		if ( '' === $status ) {
			echo '<span class="cmod-none">&#8212;</span>';
			return;
		}
		printf( '<span class="cmod-status cmod-status-%1$s">%2$s</span>', esc_attr( $status ), esc_html( self::status_label( $status ) ) );
		$reason = (string) CMod_Record::get( $comment_id, 'reason' );
		if ( '' !== $reason ) {
			printf( '<p class="cmod-reason">%s</p>', esc_html( $reason ) );
		}
		$scores = CMod_Record::get( $comment_id, 'scores' );
		if ( is_array( $scores ) && $scores ) {
			arsort( $scores );
			echo '<p class="cmod-scores">';
			$shown = array();
			foreach ( array_slice( $scores, 0, self::LIST_SCORES, true ) as $label => $score ) {
				$shown[] = sprintf( '<span class="cmod-score" data-label="%1$s">%2$s %3$s</span>', esc_attr( $label ), esc_html( str_replace( '_', ' ', $label ) ), esc_html( number_format( (float) $score, 2 ) ) );
			}
			echo implode( ', ', $shown ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- each piece escaped above.
			echo '</p>';
		}
		$wanted = CMod_Record::get( $comment_id, 'wanted' );
		if ( is_array( $wanted ) ) {
			printf( '<p class="cmod-wanted">%s</p>', esc_html__( 'Your decision is waiting to be sent to the service.', 'comment-moderation' ) );
		}
	}

	/**
	 * A status in words.
	 *
	 * @param string $status The service's status, or unsent or refused.
	 * @return string
	 */
	public static function status_label( $status ) {
		$labels = array(
			'unsent'   => __( 'Waiting for the service', 'comment-moderation' ),
			'refused'  => __( 'Not accepted by the service', 'comment-moderation' ),
			'pending'  => __( 'Being scored', 'comment-moderation' ),
			'approved' => __( 'Approved', 'comment-moderation' ),
			'held'     => __( 'Held for review', 'comment-moderation' ),
			'rejected' => __( 'Rejected', 'comment-moderation' ),
			'removed'  => __( 'Taken down', 'comment-moderation' ),
			'erased'   => __( 'Erased', 'comment-moderation' ),
		);
		return isset( $labels[ $status ] ) ? $labels[ $status ] : $status;
	}

	/**
	 * The box on the comment's edit screen.
	 *
	 * @param WP_Comment $comment The comment.
	 */
	public static function add_box( $comment ) {
		if ( '' === (string) CMod_Record::get( $comment->comment_ID, 'status' ) ) {
			return;
		}
		add_meta_box( 'cmod-review', __( 'Moderation service', 'comment-moderation' ), array( __CLASS__, 'render_box' ), 'comment', 'normal', 'high' );
	}

	/**
	 * The box: status, reason, every score, and the comment with the words that drove its
	 * score marked, as the service's moderators see it.
	 *
	 * @param WP_Comment $comment The comment.
	 */
	public static function render_box( $comment ) {
		if ( ! current_user_can( 'edit_comment', $comment->comment_ID ) ) {
			return;
		}
		$status = (string) CMod_Record::get( $comment->comment_ID, 'status' );
		printf( '<p><strong>%1$s</strong> <span class="cmod-status cmod-status-%2$s">%3$s</span></p>', esc_html__( 'Status:', 'comment-moderation' ), esc_attr( $status ), esc_html( self::status_label( $status ) ) );
		$reason = (string) CMod_Record::get( $comment->comment_ID, 'reason' );
		if ( '' !== $reason ) {
			printf( '<p><strong>%1$s</strong> <span class="cmod-reason">%2$s</span></p>', esc_html__( 'Reason:', 'comment-moderation' ), esc_html( $reason ) );
		}
		$scores = CMod_Record::get( $comment->comment_ID, 'scores' );
		if ( is_array( $scores ) && $scores ) {
			arsort( $scores );
			echo '<table class="cmod-score-table"><tbody>';
			foreach ( $scores as $label => $score ) {
				printf( '<tr><th scope="row">%1$s</th><td>%2$s</td></tr>', esc_html( str_replace( '_', ' ', $label ) ), esc_html( number_format( (float) $score, 2 ) ) );
			}
			echo '</tbody></table>';
		}
		$service_id = (string) CMod_Record::get( $comment->comment_ID, 'id' );
		if ( '' === $service_id ) {
			return;
		}
		$review = CMod_Client::review( $service_id );
		if ( 200 !== $review['code'] || ! isset( $review['body']['comment']['body'] ) ) {
			printf(
				'<p class="cmod-highlights-unavailable">%s</p>',
				/* translators: %s: what went wrong. */
				esc_html( sprintf( __( 'The highlighted words could not be loaded: %s', 'comment-moderation' ), (string) $review['error'] ) )
			);
			return;
		}
		$item = $review['body']['comment'];
		printf( '<p><strong>%s</strong></p>', esc_html__( 'Words that drove the score:', 'comment-moderation' ) );
		echo '<blockquote class="cmod-highlighted">';
		echo self::highlighted( (string) $item['body'], isset( $item['highlights'] ) && is_array( $item['highlights'] ) ? $item['highlights'] : array() ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped pieces.
		echo '</blockquote>';
	}

	/**
	 * The body as HTML with each highlighted span in a <mark>; every piece escaped.
	 * Offsets are the service's, in characters (code points) of the body it holds.
	 *
	 * @param string $body       The body as the service holds it.
	 * @param array  $highlights Items with start, end, weight.
	 * @return string
	 */
	public static function highlighted( $body, $highlights ) {
		usort(
			$highlights,
			function ( $a, $b ) {
				return (int) $a['start'] - (int) $b['start'];
			}
		);
		$length = mb_strlen( $body, 'UTF-8' );
		$html   = '';
		$at     = 0;
		foreach ( $highlights as $mark ) {
			$start = (int) $mark['start'];
			$end   = min( (int) $mark['end'], $length );
			if ( $start < $at || $end <= $start ) {
				continue; // Overlapping or empty: the first one stands.
			}
			$html .= esc_html( mb_substr( $body, $at, $start - $at, 'UTF-8' ) );
			$html .= sprintf(
				'<mark title="%1$s">%2$s</mark>',
				/* translators: %s: how much the word raised the score. */
				esc_attr( sprintf( __( 'weight %s', 'comment-moderation' ), number_format( (float) $mark['weight'], 2 ) ) ),
				esc_html( mb_substr( $body, $start, $end - $start, 'UTF-8' ) )
			);
			$at = $end;
		}
		return $html . esc_html( mb_substr( $body, $at, null, 'UTF-8' ) );
	}

	/** A few lines of style for the column and the box. */
	public static function styles() {
		?>
		<style>
			.column-cmod_moderation { width: 22%; }
			.cmod-status { display: inline-block; padding: 0 6px; border-radius: 3px; background: #f0f0f1; font-weight: 600; }
			.cmod-status-approved { background: #d7f0dc; }
			.cmod-status-held, .cmod-status-unsent, .cmod-status-pending, .cmod-status-refused { background: #fcf0d2; }
			.cmod-status-rejected, .cmod-status-removed { background: #f8d7da; }
			.cmod-reason, .cmod-scores { margin: 4px 0 0; }
			.cmod-highlighted mark { background: #ffd36b; padding: 0 1px; }
			.cmod-score-table th { text-align: left; padding-right: 12px; font-weight: normal; }
		</style>
		<?php
	}
}

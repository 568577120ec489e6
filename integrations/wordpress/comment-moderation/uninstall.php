<?php
/**
 * Removing the plugin removes its settings and its job. Comment meta stays: it is the record
 * of how each comment was decided.
 *
 * @package Comment_Moderation
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'cmod_settings' );
delete_option( 'cmod_author_secret' );
wp_clear_scheduled_hook( 'cmod_retry' );

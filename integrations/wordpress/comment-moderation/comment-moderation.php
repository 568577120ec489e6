<?php
/**
 * Plugin Name:       Comment Moderation Service
 * Description:       Puts a self-hosted comment moderation service behind the comment form: every new comment is scored there and published, held or marked as spam by its decision.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * License:           MIT
 * Text Domain:       comment-moderation
 *
 * @package Comment_Moderation
 */

defined( 'ABSPATH' ) || exit;

define( 'CMOD_VERSION', '0.1.0' );
define( 'CMOD_DIR', __DIR__ . '/' );

require_once CMOD_DIR . 'includes/class-cmod-settings.php';
require_once CMOD_DIR . 'includes/class-cmod-client.php';
require_once CMOD_DIR . 'includes/class-cmod-record.php';
require_once CMOD_DIR . 'includes/class-cmod-decisions.php';
require_once CMOD_DIR . 'includes/class-cmod-submission.php';
require_once CMOD_DIR . 'includes/class-cmod-webhook.php';
require_once CMOD_DIR . 'includes/class-cmod-moderator-sync.php';
require_once CMOD_DIR . 'includes/class-cmod-retry.php';
require_once CMOD_DIR . 'includes/class-cmod-admin-view.php';
require_once CMOD_DIR . 'includes/class-cmod-privacy.php';

CMod_Settings::register();
CMod_Submission::register();
CMod_Webhook::register();
CMod_Moderator_Sync::register();
CMod_Retry::register();
CMod_Admin_View::register();
CMod_Privacy::register();

register_activation_hook( __FILE__, array( 'CMod_Retry', 'schedule' ) );
register_deactivation_hook( __FILE__, array( 'CMod_Retry', 'unschedule' ) );

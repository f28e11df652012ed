-- PostgreSQL edition of migrations/sqlite/017 (same number, name and effect).
-- Which subscriptions want an event type is read for every change that publishes one (each creation and
-- redemption): it is now cached with the directory (WebhooksRepository.subscribers), so these changes bump
-- directory_version too: a subscription's event types, whether it is enabled, and its deletion. The delivery
-- bookkeeping (consecutive_failures, updated_at, the secrets) does not.
CREATE TRIGGER webhook_subscriptions_update_version AFTER UPDATE OF enabled ON webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER webhook_subscriptions_delete_version AFTER DELETE ON webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER webhook_subscription_events_insert_version AFTER INSERT ON webhook_subscription_events FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER webhook_subscription_events_update_version AFTER UPDATE ON webhook_subscription_events FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER webhook_subscription_events_delete_version AFTER DELETE ON webhook_subscription_events FOR EACH ROW EXECUTE FUNCTION bump_directory_version();

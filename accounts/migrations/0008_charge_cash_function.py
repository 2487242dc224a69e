"""The one-statement cash charge as a PostgreSQL function (`accounts.services.money`): its plan is
prepared once per connection instead of planned on every charge. Other databases take the locked path."""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_charge_cash(
    p_account bigint, p_app bigint, p_message bigint, p_cost numeric, p_free boolean, p_now timestamptz
) RETURNS TABLE (charged boolean, spendable numeric, threshold numeric) LANGUAGE plpgsql AS $$
DECLARE
    v_purse bigint;
    v_threshold numeric;
BEGIN
    -- The free quota and the gift balance (slot 0) are spent first, by the locked path.
    IF EXISTS (SELECT 1 FROM accounts_purse WHERE account_id = p_account AND slot = 0
               AND (gift_balance > 0 OR (p_free AND free_sms > 0))) THEN
        RETURN QUERY SELECT false, NULL::numeric, NULL::numeric;
        RETURN;
    END IF;
    -- Any cash purse that can pay and that no other transaction holds (rechecked once locked).
    SELECT id INTO v_purse FROM accounts_purse
    WHERE account_id = p_account AND slot > 0 AND balance >= p_cost
    ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF v_purse IS NULL THEN
        RETURN QUERY SELECT false, NULL::numeric, NULL::numeric;
        RETURN;
    END IF;
    UPDATE accounts_purse SET balance = balance - p_cost WHERE id = v_purse;
    INSERT INTO accounts_ledgerentry (account_id, kind, balance, gift, free_sms, app_id, message_id, reason, created_at)
    VALUES (p_account, 'charge', -p_cost, 0, 0, p_app, p_message, '', p_now);
    SELECT low_balance_threshold INTO v_threshold FROM accounts_account WHERE id = p_account;
    IF v_threshold IS NULL THEN
        RETURN QUERY SELECT true, NULL::numeric, NULL::numeric;
        RETURN;
    END IF;
    RETURN QUERY SELECT true, (SELECT sum(balance) + sum(gift_balance) FROM accounts_purse WHERE account_id = p_account),
                        v_threshold;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS accounts_charge_cash(bigint, bigint, bigint, numeric, boolean, timestamptz);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_billing_purses_ledger")]

    operations = [migrations.RunPython(create, drop)]

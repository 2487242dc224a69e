"""The one-statement cash charge waits for one busy purse that can pay (rather than taking the path
that locks them all) when every purse that can pay is held by another charge, and lets go of any
purse it locked when it charges nothing (the locked path would deadlock on it)."""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_charge_cash(
    p_account bigint, p_app bigint, p_message bigint, p_cost numeric, p_free boolean, p_now timestamptz
) RETURNS TABLE (charged boolean, spendable numeric, threshold numeric) LANGUAGE plpgsql AS $$
DECLARE
    v_purse bigint;
    v_candidate bigint;
    v_threshold numeric;
BEGIN
    -- The free quota and the gift balance (slot 0) are spent first, by the locked path.
    IF EXISTS (SELECT 1 FROM accounts_purse WHERE account_id = p_account AND slot = 0
               AND (gift_balance > 0 OR (p_free AND free_sms > 0))) THEN
        RETURN QUERY SELECT false, NULL::numeric, NULL::numeric;
        RETURN;
    END IF;
    -- Each try in a block of its own (a subtransaction): a purse locked on the way but found unable
    -- to pay once locked (another charge took from it meanwhile) is let go again when the try
    -- charges nothing, so that no charge ever waits while it holds a purse it does not pay from
    -- (the locked path locks every purse in slot order; two charges could otherwise deadlock).
    BEGIN
        -- Any cash purse that can pay and that no other transaction holds (rechecked once locked).
        SELECT id INTO v_purse FROM accounts_purse
        WHERE account_id = p_account AND slot > 0 AND balance >= p_cost
        ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF v_purse IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'every purse that can pay is held';
        END IF;
        UPDATE accounts_purse SET balance = balance - p_cost WHERE id = v_purse;
    EXCEPTION WHEN raise_exception THEN
        v_purse := NULL;
    END;
    IF v_purse IS NULL THEN
        -- All those that can pay are held by charges about to commit: wait for one of them (and for
        -- that one only), not for all of them as the locked path would.
        BEGIN
            SELECT id INTO v_candidate FROM accounts_purse
            WHERE account_id = p_account AND slot > 0 AND balance >= p_cost ORDER BY random() LIMIT 1;
            SELECT id INTO v_purse FROM accounts_purse WHERE id = v_candidate AND balance >= p_cost FOR UPDATE;
            IF v_purse IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'no purse can pay alone';
            END IF;
            UPDATE accounts_purse SET balance = balance - p_cost WHERE id = v_purse;
        EXCEPTION WHEN raise_exception THEN
            RETURN QUERY SELECT false, NULL::numeric, NULL::numeric;
            RETURN;
        END;
    END IF;
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


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def previous(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        schema_editor.execute(import_module("accounts.migrations.0008_charge_cash_function").CREATE)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_ledger_without_hot_row_locks")]

    operations = [migrations.RunPython(create, previous)]

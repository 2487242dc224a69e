"""SMPP text encoding (parts, alphabets) and receipt recognition: pure functions, no sockets."""
import os

import django
import pytest
from django.apps import apps

if not apps.ready:  # run without pytest-django (-p no:django --noconftest): sms.carriers imports models
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    django.setup()

from sms.carriers.smpp import MessageTooLong, count_parts, encode_text, gsm_septets, make_receipt, status_name  # noqa: E402
from sms.carriers.smpp.encoding import decode  # noqa: E402


@pytest.mark.parametrize("text,parts", [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # 160 septets
    ("€" * 81, 2),
    ("a" * 159 + "|", 2),  # 161 septets
    ("中" * 70, 1),
    ("中" * 71, 2),
    ("中" * 134, 2),
    ("中" * 135, 3),
    ("中" * 150, 3),
    ("😀" * 35, 1),  # 70 UTF-16 units
    ("😀" * 36, 2),
])
def test_count_parts(text, parts):
    assert count_parts(text) == parts


def test_alphabet_choice():
    assert encode_text("Hello @ £$¥ èéùìò Ç Øø Åå Δ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ ¤ ¡ ÄÖÑÜ§ ¿ äöñüà").data_coding == 0
    assert encode_text("{[~]}^|\\€").data_coding == 0
    assert gsm_septets("{[~]}^|\\€") == 18
    for not_gsm in ("`", "ë", "ç", "中", "😀", "\x1b"):
        assert encode_text(f"code {not_gsm}").data_coding == 8, not_gsm
    assert gsm_septets("ë") is None


def test_gsm_parts_never_split_an_escape():
    text = "a" * 152 + "€" + "b" * 200
    encoded = encode_text(text)
    assert [len(c) for c in encoded.chunks] == [152, 153, 49]
    assert all(not c.endswith(b"\x1b") or c.endswith(b"\x1b\x1b") for c in encoded.chunks)
    assert "".join(decode(0, c) for c in encoded.chunks) == text


def test_ucs2_parts_never_split_a_surrogate_pair():
    text = "x" * 66 + "😀" * 40
    encoded = encode_text(text)
    assert encoded.data_coding == 8
    assert all(len(c) <= 134 for c in encoded.chunks)
    assert "".join(c.decode("utf-16-be") for c in encoded.chunks) == text  # each part decodes alone


def test_concatenation_header():
    encoded = encode_text("中" * 150)
    parts = encoded.short_messages(reference=0x1A7)  # only the low 8 bits go
    assert [esm for esm, _ in parts] == [0x40, 0x40, 0x40]
    assert [sm[:6] for _, sm in parts] == [bytes([5, 0, 3, 0xA7, 3, i]) for i in (1, 2, 3)]
    assert encode_text("short").short_messages(9) == ((0, b"short"),)


def test_more_than_255_parts_is_refused():
    with pytest.raises(MessageTooLong):
        encode_text("a" * 153 * 255 + "a")
    assert count_parts("a" * 153 * 255) == 255


RECEIPT_TEXT = (b"id:0A1B2C sub:001 dlvrd:000 submit date:2412011200 done date:2412011201 "
                b"stat:UNDELIV err:034 text:Your code is 1234")


def test_receipt_from_text():
    receipt = make_receipt(esm_class=0x04, short_message=RECEIPT_TEXT, source_addr=b"8613800138000",
                           destination_addr=b"Brand")
    assert receipt.message_id == "0A1B2C"
    assert receipt.state == "undeliverable" and receipt.final
    assert receipt.error_code == "034"
    assert (receipt.submit_date, receipt.done_date, receipt.sub, receipt.dlvrd) == (
        "2412011200", "2412011201", "001", "000")
    assert receipt.source_addr == "8613800138000" and receipt.destination_addr == "Brand"


def test_receipt_tlvs_win_over_the_text():
    receipt = make_receipt(esm_class=0x04, short_message=RECEIPT_TEXT.replace(b"0A1B2C", b"670508"),
                           receipted_message_id=b"0A1B2C", message_state=2)
    assert receipt.message_id == "0A1B2C"  # some SMSCs put the id in decimal in the text
    assert receipt.state == "delivered"
    assert receipt.error_code == "034"


def test_receipt_from_tlvs_alone_even_without_the_esm_class_bit():
    receipt = make_receipt(esm_class=0, short_message=b"", receipted_message_id=b"77",
                           message_state=3, network_error_code=bytes([3, 0, 27]))
    assert (receipt.message_id, receipt.state, receipt.error_code) == ("77", "expired", "3:27")


@pytest.mark.parametrize("stat,state", [("DELIVRD", "delivered"), ("DELIVERED", "delivered"), ("EXPIRED", "expired"),
                                        ("DELETED", "deleted"), ("UNDELIV", "undeliverable"),
                                        ("ACCEPTD", "accepted"), ("UNKNOWN", "unknown"), ("REJECTD", "rejected"),
                                        ("ENROUTE", "enroute"), ("WEIRD", "unknown")])
def test_receipt_states(stat, state):
    receipt = make_receipt(esm_class=0x04, short_message=f"id:1 stat:{stat} err:000".encode())
    assert receipt.state == state
    assert receipt.final is (state != "enroute")


def test_mo_message_is_not_a_receipt():
    assert make_receipt(esm_class=0, short_message=b"TD") is None
    assert make_receipt(esm_class=0, short_message=b"my id: 5, status ok") is None


def test_status_names():
    assert status_name(0x0E) == "ESME_RINVPASWD"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x400) == "0x00000400"

"""The small interface every carrier adapter implements."""
from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    app_id: str
    to: str
    text: str
    channel: str


@dataclass(frozen=True)
class SubmitResult:
    """What the carrier said of one message: the status it moves to and the carrier's reference."""

    message_id: int
    status: str  # a MessageStatus: waiting_receipt, delivered or call_failed
    carrier_message_id: str = ""
    error: str = ""


class Carrier(ABC):
    name: str

    @abstractmethod
    def submit(self, messages: list[OutboundMessage]) -> list[SubmitResult]:
        """Hand a batch to the carrier; one result per message, in any order."""

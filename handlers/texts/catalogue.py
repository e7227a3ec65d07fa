"""The shape of a language catalogue: every word the bot says, patient- and staff-facing.

A catalogue is a frozen dataclass with no defaults, so a language missing a text does not
even construct: completeness is checked when the module is imported (and by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.intake import Delivery
from bot.domain.models import (
    AlertReason,
    BreakdownBy,
    CaseDelivery,
    ResponseStatus,
    SentimentLabel,
)


@dataclass(frozen=True)
class Texts:
    """The catalogue of one language."""

    language_name: str
    unnamed_clinic: str
    """Said for the clinic when FEEDBACK_CLINIC_NAME is not set (mid-sentence)."""
    language_names: dict[str, str]
    """Every language the bot speaks, named in this one (for staff)."""
    # The patient's conversation (plain text, never markup).
    consent: str
    consent_booking_link: str
    consent_agree: str
    consent_decline: str
    consent_declined: str
    welcome_back: str
    progress: str
    choose_treatment: str
    skip: str
    skipped: str
    yes: str
    no: str
    done: str
    multiple_hint: str
    your_answer: str
    thanks: str
    review_invitation: str
    review_button: str
    text_truncated: str
    use_buttons: str
    choose_at_least_one: str
    empty_text: str
    already_answered: str
    stale_button: str
    no_survey: str
    not_started: str
    cancelled: str
    nothing_to_cancel: str
    help: str
    help_staff: str
    unsupported_content: str
    edited_message: str
    unknown_command: str
    private_only: str
    forget_confirm: str
    forget_yes: str
    forget_no: str
    forgotten: str
    nothing_to_forget: str
    forget_kept: str
    choose_language: str
    language_set: str
    invitation_unknown: str
    invitation_expired: str
    invitation_used: str
    # The staff console (a Mini App): the bot's lines, and the page's words.
    console_button: str
    console_open: str
    console_private_only: str
    console_off: str
    console_page: dict[str, str]
    # The e-mail invitation (plain text; the HTML part escapes everything it shows).
    mail_subject: str
    mail_greeting: str
    mail_greeting_named: str
    mail_body: str
    mail_open: str
    mail_scan: str
    mail_valid_until: str
    mail_why: str
    followup_intro: str
    visit_survey_intro: str
    followup_reminder: str
    your_treatment: str
    followups_stopped: str
    followups_nothing_to_stop: str
    followups_resumed: str
    something_went_wrong: str
    staff_reply: str
    message_passed_on: str
    call_offer: str
    call_me_button: str
    call_no_button: str
    call_number_saved: str
    call_declined: str
    call_own_number_only: str
    call_nothing_open: str
    command_descriptions: tuple[tuple[str, str], ...]
    # Staff messages (HTML; every value in them is escaped).
    staff_only: str
    admins_only: str
    staff_chats_only: str
    summary_usage: str
    export_usage: str
    export_private_only: str
    export_caption: str
    export_too_large: str
    audit_private_only: str
    audit_caption: str
    audit_head: str
    invite_usage: str
    invite_unknown_survey: str
    invite_created: str
    alert_title: str
    alert_why: str
    alert_clinical_title: str
    safety_advice: str
    alert_reasons: dict[AlertReason, str]
    alert_survey: str
    alert_visit: str
    alert_language: str
    alert_status: str
    alert_maybe_repeat: str
    alert_erased: str
    alert_minimal: str
    in_details: str
    case_callback_hidden: str
    case_details: str
    case_details_heading: str
    case_details_sent: str
    case_details_start_first: str
    statuses: dict[ResponseStatus, str]
    just_now: str
    minutes_ago: str
    hours_ago: str
    days_ago: str
    summary_title: str
    summary_all_time: str
    summary_last: str
    summary_responses: str
    summary_csat: str
    summary_csat_mixed: str
    summary_nps: str
    summary_csat_empty: str
    summary_nps_empty: str
    summary_sentiment: str
    sentiment_labels: dict[SentimentLabel, str]
    breakdown_titles: dict[BreakdownBy, str]
    breakdown_row: str
    over_time_title: str
    summary_invitations: str
    invitation_titles: dict[BreakdownBy, str]
    invitation_row: str
    summary_visits: str
    visit_channel_names: dict[Delivery, str]
    visit_channel_row: str
    summary_negative: str
    # Cases: the alert's buttons, what they answer, the lines the alert shows.
    case_claim: str
    case_reply: str
    case_resolve: str
    case_claimed: str
    case_taken_by: str
    case_already_yours: str
    case_closed: str
    case_gone: str
    case_team_only: str
    case_reply_prompt: str
    case_resolved_prompt: str
    case_prompt_failed: str
    case_prompt_cancelled: str
    case_nothing_to_cancel: str
    case_reply_queued: str
    case_reply_too_long: str
    case_noted: str
    case_team_only_reply: str
    case_claimed_line: str
    case_unclaimed_line: str
    case_reposted_line: str
    case_resolved_line: str
    case_note_line: str
    case_callback_line: str
    case_to_patient_line: str
    case_from_patient_line: str
    case_earlier_messages: str
    case_deliveries: dict[CaseDelivery, str]
    case_patient_wrote: str
    cases_title: str
    cases_row: str
    cases_nobody: str
    cases_more: str
    cases_none: str
    summary_cases: str
    summary_cases_empty: str
    trend_usage: str
    chat_id_group: str
    chat_id_private: str
    trend_title_weeks: str
    trend_title_months: str
    trend_csat: str
    trend_nps: str
    trend_responses: str
    trend_all: str
    trend_visit_day: str
    trend_followup: str
    trend_caption: str
    trend_week: str
    trend_month: str

    def clinic(self, name: str | None) -> str:
        """The clinic's name, or this language's words for it when none is set."""
        return name or self.unnamed_clinic

    def format_progress(self, number: int, total: int, text: str) -> str:
        """A question with its place in the survey."""
        return self.progress.format(number=number, total=total) + "\n\n" + text

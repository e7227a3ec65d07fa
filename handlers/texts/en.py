"""English."""

from __future__ import annotations

from bot.domain.intake import Delivery
from bot.domain.models import (
    AlertReason,
    BreakdownBy,
    CaseDelivery,
    ResponseStatus,
    SentimentLabel,
)
from handlers.texts.catalogue import Texts

ENGLISH = Texts(
    language_name="English",
    unnamed_clinic="our clinic",
    language_names={"en": "English", "es": "Spanish"},
    consent=(
        "Hello! We would love to hear how your visit to {clinic} went. It takes under a "
        "minute.\n\n"
        "If you agree, we store your answers under a random code (not your name, and no "
        "phone number unless you choose to share it to be called back) so the clinic can "
        "improve its care, and delete them automatically after "
        "{retention_days} days. Send /forget at any time to erase everything you told us, "
        "/cancel to stop a survey, and /language to change the language.\n\n"
        "Nothing is stored until you tap “I agree”."
    ),
    consent_booking_link=(
        "This link came from the clinic's booking system. If you agree, we also remember that "
        "you are its patient, so the survey about your next visit comes straight here. "
        "/stop ends those messages; /forget erases this too."
    ),
    consent_agree="I agree",
    consent_decline="No, thanks",
    consent_declined="No problem — nothing was stored. If you change your mind, send /start.",
    welcome_back="Welcome back! Let's carry on where you left off.",
    progress="Question {number} of {total}",
    choose_treatment="Which treatment did you have?",
    skip="Skip",
    skipped="(skipped)",
    yes="Yes",
    no="No",
    done="Done ✓",
    multiple_hint="(tap all that apply, then Done)",
    your_answer="Your answer: {answer}",
    thanks="Thank you! Your feedback has been saved and goes straight to the team at {clinic}.",
    review_invitation=(
        "If you have a moment, a public review helps others find us. "
        "We ask everyone, whatever they told us."
    ),
    review_button="Leave a review",
    text_truncated=(
        "Your message was longer than {limit} characters, so we kept the first {limit}."
    ),
    use_buttons="Please tap one of the buttons below (or type a number shown on them).",
    choose_at_least_one="Please tick at least one option, then tap Done.",
    empty_text="Please type your answer in words, or tap Skip.",
    already_answered="You've already answered this question — thank you!",
    stale_button="That survey is finished. Send /start to give new feedback.",
    no_survey="There's no survey in progress. Send /start to give feedback.",
    not_started="Send /start to begin.",
    cancelled=(
        "Survey stopped. The answers you already gave are kept. Send /start to begin again."
    ),
    nothing_to_cancel="There's nothing to cancel. Send /start to give feedback.",
    help=(
        "I collect feedback about your visit to {clinic}, one quick question at a time.\n\n"
        "/start — begin (or carry on with) a survey\n"
        "/cancel — stop the current survey\n"
        "/language — change the language\n"
        "/stop — no more follow-up messages (/resume to have them again)\n"
        "/forget — erase everything you told us\n"
        "/help — this message"
    ),
    help_staff=(
        "\n\nStaff commands:\n"
        "/summary [7d|30d|90d|all] — scores and comments\n"
        "/invite treatment provider [location] [date] [survey] — a visit link and QR code\n"
        "/export [7d|30d|90d|all] — every response as a CSV file (admins, private chat)\n"
        "/audit — who looked at patients' data, the last 7 days (admins, private chat)\n"
        "/cases — open cases, oldest first, with their owner\n"
        "/trend [12w|12m] — CSAT and NPS week by week or month by month, as a chart\n"
        "/console — the console: overview, cases, comments, breakdowns (private chat)\n"
        "/chatid — in a group: its id, for FEEDBACK_STAFF_CHAT"
    ),
    unsupported_content=(
        "Sorry, I can only read text messages and button taps. "
        "Please type your answer or use the buttons."
    ),
    edited_message=(
        "I keep the first version of each answer, so edits aren't saved. "
        "If something important changed, please send it as a new message."
    ),
    unknown_command="I don't know that command. Send /help to see what I can do.",
    private_only="I collect feedback in private chats only. Please message me directly.",
    forget_confirm=(
        "This erases everything you told us, including finished surveys. It can't be undone. "
        "Erase it?"
    ),
    forget_yes="Yes, erase everything",
    forget_no="No, keep it",
    forgotten="Done — everything you told us has been erased.",
    nothing_to_forget="We don't have anything stored about you.",
    forget_kept="Nothing was erased.",
    choose_language="Choose your language:",
    language_set="I'll speak English from now on.",
    invitation_unknown=(
        "Sorry, I don't recognise that link. Please check it with the clinic, "
        "or send /start to give feedback without it."
    ),
    invitation_expired=(
        "Sorry, that feedback link has expired. Send /start to give feedback anyway."
    ),
    invitation_used=(
        "That feedback link has already been used — thank you! "
        "Send /start if you'd like to tell us more."
    ),
    console_button="Open the console",
    console_open=(
        "The clinic's console: overview, cases, comments and breakdowns. It is also under the "
        "menu button next to where you type."
    ),
    console_private_only=(
        "Telegram opens the console from a private chat only: send me /console there."
    ),
    console_off=(
        "The console is not set up: the operator sets FEEDBACK_PUBLIC_URL (an https address "
        "of this bot's server) and FEEDBACK_HTTP_LISTEN or webhook mode."
    ),
    console_page={
        "title": "Console",
        "loading": "Loading…",
        "refused": (
            "This console opens from the bot in Telegram, and the sign-in has expired or is "
            "not from Telegram. Close it and open it again from the bot."
        ),
        "not_team": (
            "This console is for the clinic's team only (FEEDBACK_ADMINS, FEEDBACK_STAFF)."
        ),
        "failed": "The console could not reach the bot. Try again in a moment.",
        "overview": "Overview",
        "period_7d": "Last 7 days",
        "period_30d": "Last 30 days",
        "period_90d": "Last 90 days",
        "period_all": "All time",
        "responses": "Responses",
        "completion_rate": "Completed",
        "csat": "CSAT",
        "satisfied": "Satisfied",
        "nps": "NPS",
        "response_rate": "Response rate",
        "trend": "Trend",
        "span_12w": "12 weeks",
        "span_12m": "12 months",
        "cases": "Cases",
        "no_cases": "No cases: nobody has needed the clinic lately.",
        "open": "Open",
        "resolved_title": "Resolved lately",
        "unclaimed": "Nobody has taken it",
        "claimed_by": "Taken by {name}",
        "resolved_by": "Resolved by {name}",
        "back": "All cases",
        "why": "Why",
        "visit": "Visit",
        "answers": "Answers",
        "call_request": "Asked to be called: {phone}",
        "conversation": "Conversation",
        "from_patient": "Patient",
        "from_clinic": "{name}, to the patient",
        "not_delivered": "not delivered yet",
        "delivery_failed": "could not be delivered",
        "note": "Note",
        "claim": "Claim",
        "reply": "Reply to the patient",
        "reply_placeholder": "Your reply: the patient reads it in Telegram, from the clinic",
        "send": "Send",
        "resolve": "Resolve",
        "note_placeholder": "A one-line note for the record (optional)",
        "reply_empty": "Write the reply first.",
        "resolved": "Resolved.",
        "comments": "Comments",
        "search_placeholder": "Words in the comment",
        "search": "Search",
        "any_period": "Any time",
        "any_sentiment": "Any sentiment",
        "any_treatment": "Any treatment",
        "any_provider": "Any provider",
        "any_location": "Any location",
        "any_survey": "Any survey",
        "found": "{total} comments",
        "found_more": "More than {total} comments",
        "page_of": "Page {page} of {pages}",
        "previous": "Previous",
        "next": "Next",
        "no_comments": "No comment matches.",
        "breakdowns": "Breakdowns",
        "provider": "Provider",
        "treatment": "Treatment",
        "location": "Location",
        "none": "—",
        "too_small": "too few to judge",
        "no_groups": "No responses in this period.",
    },
    mail_subject="How was your visit to {clinic}?",
    mail_greeting="Hello,",
    mail_greeting_named="Hello {name},",
    mail_body=(
        "Thank you for visiting {clinic} for your {treatment}. Would you tell us how it went? "
        "It takes under a minute, in Telegram."
    ),
    mail_open="Open the survey in Telegram",
    mail_scan="Or scan this code with your phone's camera:",
    mail_valid_until="The link works until {date}.",
    mail_why=(
        "You receive this e-mail because you visited {clinic}. We keep your address only "
        "until this message is sent, and write to you about this visit only."
    ),
    followup_intro=(
        "Hello again from {clinic}! It's been a little while since your {treatment}. "
        "Could you tell us how you're doing? It takes a minute."
    ),
    visit_survey_intro=(
        "Thank you for visiting {clinic} for your {treatment}! How did it go? "
        "A few quick questions, one tap each."
    ),
    followup_reminder=(
        "A gentle reminder from {clinic}: we'd still love to hear how your {treatment} went."
    ),
    your_treatment="treatment",
    followups_stopped=(
        "Done — you won't get any more follow-up messages from us. "
        "Changed your mind? Send /resume."
    ),
    followups_nothing_to_stop="We don't send you any follow-ups.",
    followups_resumed="Follow-ups are back on: we'll check in after your next visits.",
    something_went_wrong=(
        "Sorry, something went wrong on our side. The answers you already gave are safe; "
        "send /start to carry on."
    ),
    staff_reply="{body}\n\n— {clinic}",
    message_passed_on="Thank you — your message was passed on to the team at {clinic}.",
    call_offer=(
        "We're sorry your visit fell short. Would you like someone from {clinic} to call "
        "you? Tap the button to share your phone number with us; we use it only to call you "
        "about this visit, and /forget erases it."
    ),
    call_me_button="📞 Please call me",
    call_no_button="No, thank you",
    call_number_saved="Thank you — the team will call you at {phone}.",
    call_declined="All right. Thank you for your feedback.",
    call_own_number_only=(
        "Please share your own number with the “Please call me” button; nothing was stored."
    ),
    call_nothing_open=(
        "There's no recent feedback of yours for the team to call about, "
        "so your number was not stored."
    ),
    command_descriptions=(
        ("start", "Give feedback about your visit"),
        ("cancel", "Stop the current survey"),
        ("language", "Change the language"),
        ("stop", "No more follow-up messages"),
        ("forget", "Erase everything you told us"),
        ("help", "What this bot does"),
    ),
    staff_only="Sorry, this command is for clinic staff only.",
    admins_only="Sorry, only clinic admins (FEEDBACK_ADMINS) can use this command.",
    staff_chats_only=(
        "Staff commands work only in a private chat with me or in the clinic's staff chat."
    ),
    summary_usage="Usage: /summary [7d|30d|90d|all] (default 30d).",
    export_usage="Usage: /export [7d|30d|90d|all] (default all).",
    export_private_only=(
        "/export sends every patient's answers, so it works only in a private chat with me."
    ),
    export_caption=(
        "Feedback export, {period}: {rows} responses (patients by pseudonym only). "
        "Keep this file private."
    ),
    export_too_large=(
        "The export is {size} MB, more than the 50 MB Telegram lets a bot send. "
        "Run feedback-bot export on the server, or ask for a shorter period."
    ),
    audit_private_only=(
        "/audit lists who looked at patients' data, so it works only in a private chat with me."
    ),
    audit_caption=(
        "Audit trail, last 7 days: {rows} entries (who, what, when; no patient's words). "
        "Keep this file private."
    ),
    audit_head=(
        "🔏 Audit trail, {day}: entry {number} has the hash\n<code>{hash}</code>\n"
        "This copy lives outside the database: if the trail were rewritten, the entry's "
        "hash would no longer be this one (feedback-bot audit --format csv shows it, "
        "feedback-bot audit verify checks the chain)."
    ),
    invite_usage=(
        "Usage: /invite treatment provider [location] [date YYYY-MM-DD] [survey]\n"
        'Quote names with spaces: /invite botox "Dr Ana Ruiz" downtown'
    ),
    invite_unknown_survey="There is no survey {survey!r}. Surveys: {surveys}.",
    invite_created=(
        "Visit link for {treatment} with {provider} — single use, valid until {expires}:\n{link}"
    ),
    alert_title="⚠️ <b>Patient needs a follow-up</b> — {patient}",
    alert_why="Why: {reasons}",
    alert_clinical_title="🚨 <b>Possible complication — clinical follow-up</b> — {patient}",
    safety_advice=(
        "Thank you for telling us — the clinic will contact you about this. If your symptoms "
        "are severe or getting worse (for example changes in your vision, skin turning white "
        "or grey, spreading redness, fever, or pain that keeps increasing), please call the "
        "clinic now or your local emergency number."
    ),
    alert_reasons={
        AlertReason.CLINICAL: "possible complication",
        AlertReason.LOW_CSAT: "low satisfaction score",
        AlertReason.LOW_NPS: "unlikely to recommend",
        AlertReason.NEGATIVE_COMMENT: "negative comment",
    },
    alert_survey="Survey: {title} · started {ago}",
    alert_visit="Visit: {visit}",
    alert_language="🗣 The patient reads the bot in {language}: call back in {language}.",
    alert_status="Status: {status}",
    alert_maybe_repeat=(
        "<i>Sent again: an earlier attempt may have reached this chat too (Telegram did not "
        "confirm it). This copy is the one kept up to date.</i>"
    ),
    alert_erased=(
        "<i>This alert was removed: the patient's answers were erased (at their request, "
        "or at the end of the retention period).</i>"
    ),
    alert_minimal=(
        "<i>What the patient wrote and how to reach them are not shown in this group: tap "
        "🔎 Details to read them in your private chat with me.</i>"
    ),
    in_details="<i>(in Details)</i>",
    case_callback_hidden="📞 Asks to be called: the number is in Details",
    case_details="🔎 Details",
    case_details_heading="🔎 <b>Case {case}</b>, for you alone: do not forward it.",
    case_details_sent="Sent to your private chat with me.",
    case_details_start_first=(
        "I cannot write to you yet: open a private chat with me, tap Start, then tap "
        "🔎 Details again."
    ),
    statuses={
        ResponseStatus.IN_PROGRESS: "in progress",
        ResponseStatus.COMPLETED: "completed",
        ResponseStatus.ABANDONED: "abandoned",
    },
    just_now="just now",
    minutes_ago="{n} min ago",
    hours_ago="{n} h ago",
    days_ago="{n} days ago",
    summary_title="📊 <b>Feedback summary — {period}</b>",
    summary_all_time="all time",
    summary_last="last {period}",
    summary_responses="Responses: {started} started, {completed} completed ({rate})",
    summary_csat="CSAT: {mean} / {top} · {satisfied} rated {cut}–{top} ({count} answers)",
    summary_csat_mixed=(
        "CSAT: {mean} · {satisfied} in their scale's top two ({count} answers, on more than"
        " one scale)"
    ),
    summary_nps="NPS: {score} · promoters {promoters}, passives {passives}, "
    "detractors {detractors}",
    summary_csat_empty="CSAT: no answers",
    summary_nps_empty="NPS: no answers",
    summary_sentiment="Comment sentiment: {mix}",
    sentiment_labels={
        SentimentLabel.NEGATIVE: "negative",
        SentimentLabel.NEUTRAL: "neutral",
        SentimentLabel.UNKNOWN: "other language",
        SentimentLabel.POSITIVE: "positive",
    },
    breakdown_titles={
        BreakdownBy.TREATMENT: "<b>By treatment</b>",
        BreakdownBy.PROVIDER: "<b>By provider</b>",
        BreakdownBy.LOCATION: "<b>By location</b>",
    },
    over_time_title="<b>Over time: at the visit and weeks later</b>",
    breakdown_row="• {name}: {responses} · CSAT {csat} · NPS {nps}",
    summary_negative="<b>Latest negative comments</b>",
    summary_invitations=(
        "Visit links: {created} created · {opened} opened ({opened_rate}) · "
        "{completed} completed ({completed_rate})"
    ),
    invitation_titles={
        BreakdownBy.PROVIDER: "<b>Visit links by provider</b>",
        BreakdownBy.LOCATION: "<b>Visit links by location</b>",
    },
    invitation_row=(
        "• {name}: {created} created · {opened} opened · {completed} completed ({rate})"
    ),
    summary_visits="<b>Visits from the booking system</b>: {received} received",
    visit_channel_names={
        Delivery.TELEGRAM: "asked in Telegram",
        Delivery.EMAIL: "invited by e-mail",
        Delivery.NONE: "link only",
    },
    visit_channel_row=("• {name}: {invited} · {opened} opened · {completed} completed ({rate})"),
    case_claim="🙋 Claim",
    case_reply="↪️ Reply",
    case_resolve="✅ Resolve",
    case_claimed="This case is yours now.",
    case_taken_by="{name} has already taken this case.",
    case_already_yours="This case is already yours.",
    case_closed="This case is resolved already.",
    case_gone="This case no longer exists: the patient's data was erased.",
    case_team_only="Only the clinic's team (FEEDBACK_ADMINS, FEEDBACK_STAFF) can act on cases.",
    case_reply_prompt=(
        "↪️ {staff}, write your reply to {patient} as an answer to this message. It goes to "
        "the patient signed “{clinic}”; your name and account are never shown. "
        "/cancel to stop."
    ),
    case_resolved_prompt=(
        "✅ {staff} resolved {patient}. To keep a one-line note with the case, send it as an "
        "answer to this message (optional)."
    ),
    case_prompt_failed=(
        "Telegram did not take the bot's message just now; tap the button again in a moment."
    ),
    case_prompt_cancelled="Cancelled — nothing was sent.",
    case_nothing_to_cancel="There's no reply or note of yours waiting.",
    case_reply_queued=(
        "✓ On its way to {patient}, signed “{clinic}”. The alert shows when it arrives."
    ),
    case_reply_too_long=(
        "That's too long for one message ({limit} characters at most); nothing was sent."
    ),
    case_noted="✓ Note kept with {patient}'s case.",
    case_team_only_reply=(
        "Only the clinic's team (FEEDBACK_ADMINS, FEEDBACK_STAFF) can answer patients; "
        "nothing was sent."
    ),
    case_claimed_line="👤 Taken by {name} · {ago}",
    case_unclaimed_line="👤 Nobody has taken this case yet",
    case_reposted_line="⏰ <b>Posted again: nobody has taken this case yet.</b>",
    case_resolved_line="✅ <b>Resolved</b> by {name} · {ago}",
    case_note_line="Note:",
    case_callback_line="📞 Asks to be called: <code>{phone}</code>",
    case_to_patient_line="↪️ {name} to the patient · {ago} · {delivery}",
    case_from_patient_line="💬 Patient · {ago}",
    case_earlier_messages="… {n} earlier messages",
    case_deliveries={
        CaseDelivery.PENDING: "on its way",
        CaseDelivery.DELIVERED: "delivered ✓",
        CaseDelivery.FAILED: "not delivered (blocked, or unreachable for a day)",
    },
    case_patient_wrote="💬 <b>{patient}</b> answered:",
    cases_title="<b>Open cases</b> ({count}), oldest first:",
    cases_row="• {age} · {patient} · {reasons} · {owner}",
    cases_nobody="<b>nobody yet</b>",
    cases_more="… and {n} more",
    cases_none="No open cases. 🎉",
    summary_cases=(
        "Cases: {opened} opened · {resolved} resolved ({share}) · median time to the first "
        "reply {reply}, to resolution {resolution}"
    ),
    summary_cases_empty="Cases: none opened",
    trend_usage="Usage: /trend [12w|12m] (default 12w).",
    trend_title_weeks="{clinic}: the last 12 weeks",
    trend_title_months="{clinic}: the last 12 months",
    trend_csat="CSAT (1–5)",
    trend_nps="NPS",
    trend_responses="Responses",
    trend_all="all responses",
    trend_visit_day="at the visit",
    trend_followup="weeks later (follow-ups)",
    trend_caption=(
        "CSAT and NPS per {unit}, the last 12 {unit}s: {responses} responses. "
        "Dashed: the visit-day survey; dotted: follow-ups."
    ),
    trend_week="week",
    trend_month="month",
    chat_id_group=(
        "This chat's id is {chat_id}. To have staff alerts posted here, set "
        "FEEDBACK_STAFF_CHAT={chat_id} and restart the bot."
    ),
    chat_id_private=(
        "Send /chatid in the staff group (after adding me to it) to learn the id "
        "FEEDBACK_STAFF_CHAT needs."
    ),
)

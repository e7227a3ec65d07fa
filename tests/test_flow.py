"""The flow engine decides what to ask next and what an answer means, with no I/O."""

from __future__ import annotations

import pytest

from bot.domain.flow import SKIP, InvalidAnswerError, next_step, parse_button, parse_typed
from bot.domain.surveys import Question, QuestionType, Survey, load_catalog

SURVEY = load_catalog().default


def test_questions_come_in_order_with_progress() -> None:
    first = next_step(SURVEY, {})
    assert first is not None
    assert (first.question.id, first.number, first.total) == ("csat", 1, 3)
    second = next_step(SURVEY, {"csat": 4})
    assert second is not None
    assert (second.question.id, second.number) == ("nps", 2)
    assert next_step(SURVEY, {"csat": 4, "nps": 9, "comment": None}) is None


@pytest.mark.parametrize(
    ("csat", "wording"),
    [
        (1, "What could we have done better?"),
        (3, "What could we have done better?"),
        (4, "What did you enjoy most"),
        (5, "What did you enjoy most"),
    ],
)
def test_comment_wording_follows_the_score(csat: int, wording: str) -> None:
    step = next_step(SURVEY, {"csat": csat, "nps": 5})
    assert step is not None
    assert wording in step.text


def test_buttons_only_accept_values_the_survey_offered() -> None:
    csat = SURVEY.questions[0]
    assert parse_button(csat, "5") == 5
    for forged in ("0", "6", "-1", "05x", "", "٣", SKIP, "1e1"):
        with pytest.raises(InvalidAnswerError):
            parse_button(csat, forged)
    comment = SURVEY.questions[2]
    assert parse_button(comment, SKIP) is None
    with pytest.raises(InvalidAnswerError):
        parse_button(comment, "anything")


def test_nps_runs_from_0_to_10() -> None:
    nps = SURVEY.questions[1]
    assert [parse_button(nps, str(n)) for n in (0, 10)] == [0, 10]
    with pytest.raises(InvalidAnswerError):
        parse_button(nps, "11")


def test_typed_answers() -> None:
    csat, _, comment = SURVEY.questions
    assert parse_typed(csat, " 3 ") == (3, False)
    assert parse_typed(comment, "  nice  ") == ("nice", False)
    assert parse_typed(comment, "x" * 5000) == ("x" * 4000, True)
    with pytest.raises(InvalidAnswerError):
        parse_typed(comment, "   ")
    with pytest.raises(InvalidAnswerError):
        parse_typed(csat, "five")


def test_single_choice_by_button_or_label() -> None:
    question = Question.model_validate(
        {
            "id": "treatment",
            "type": "choice",
            "text": "Which treatment?",
            "options": [{"id": "botox", "label": "Botox"}, {"id": "filler", "label": "Filler"}],
        }
    )
    assert question.type is QuestionType.CHOICE
    assert parse_button(question, "filler") == "filler"
    assert parse_typed(question, "botox ") == ("botox", False)
    assert parse_typed(question, "FILLER") == ("filler", False)
    with pytest.raises(InvalidAnswerError):
        parse_button(question, "laser")


def test_a_skipped_question_is_not_asked_again() -> None:
    survey = Survey.model_validate(
        {
            "id": "s",
            "title": "t",
            "questions": [
                {"id": "note", "type": "text", "text": "Anything?", "required": False},
                {"id": "csat", "type": "rating", "text": "Score?"},
            ],
        }
    )
    step = next_step(survey, {"note": None})
    assert step is not None
    assert step.question.id == "csat"

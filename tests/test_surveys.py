"""Survey files are validated, and a bad one is reported with the place and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.surveys import QuestionRole, SurveyFileError, load_catalog

GOOD = """
[[surveys]]
id = "post_visit"
title = "After your visit"

[[surveys.questions]]
id = "csat"
type = "rating"
text = "How was it?"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "surveys.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_built_in_survey_has_the_contract_ids() -> None:
    survey = load_catalog().default
    assert survey.id == "post_visit"
    assert [q.id for q in survey.questions] == ["csat", "nps", "comment"]
    assert list(survey.questions[0].scale) == [1, 2, 3, 4, 5]
    assert list(survey.questions[1].scale) == list(range(11))
    assert survey.questions[2].optional


def test_a_clinic_file_loads(tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, GOOD)).default.title == "After your visit"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ('type = "rating"', 'type = "slider"'),
            "survey 'post_visit', question 'csat', type: Input should be 'rating', 'nps'",
        ),
        (('id = "csat"', 'id = "CSAT score"'), "question 'CSAT score', id: String should match"),
        (
            ('text = "How was it?"', 'text = ""'),
            "question 'csat', text: must be a non-empty text, or texts by language code",
        ),
        (('type = "rating"', 'type = "choice"'), "question 'csat': a choice question needs 2"),
        (('type = "rating"', 'type = "rating"\nscale_min = 5\nscale_max = 1'), "scale"),
        (('type = "rating"', 'type = "rating"\ncolour = "red"'), "colour"),
        (('title = "After your visit"', 'title = "x"\n[bad'), "not valid TOML"),
    ],
)
def test_invalid_files_are_rejected_with_the_place_and_problem(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(SurveyFileError) as error:
        load_catalog(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)
    # Only the real problem, not pydantic's echo of it on the enclosing list.
    assert "at least 1 item" not in str(error.value)


def test_duplicate_question_ids(tmp_path: Path) -> None:
    twice = GOOD + '[[surveys.questions]]\nid = "csat"\ntype = "nps"\ntext = "Again?"\n'
    with pytest.raises(SurveyFileError, match="duplicate question id 'csat'"):
        load_catalog(write(tmp_path, twice))


def test_a_variant_must_depend_on_an_earlier_numeric_question(tmp_path: Path) -> None:
    later = GOOD + (
        '[[surveys.questions.variants]]\nwhen = { question = "nps", at_most = 3 }\ntext = "Hm"\n'
    )
    with pytest.raises(SurveyFileError, match="'nps', which is not an earlier question"):
        load_catalog(write(tmp_path, later))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SurveyFileError, match="cannot read survey file"):
        load_catalog(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            'show_if = { question = "wait", at_most = 2 }',
            "survey 'post_visit': question 'csat' depends on 'wait', which is not an earlier",
        ),
        ("scale_min = 5\nscale_max = 1", "the scale 5..1 has no values"),
        ('labels = ["bad", "good"]', "labels must name each of the 5 values"),
        ('options = [{ id = "a", label = "A" }]', "only choice questions have options"),
    ],
)
def test_more_invalid_questions(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(SurveyFileError, match=problem):
        load_catalog(write(tmp_path, GOOD + extra + "\n"))


def test_every_text_needs_the_default_language(tmp_path: Path) -> None:
    spanish_only = GOOD.replace('text = "How was it?"', 'text = { es = "¿Qué tal?" }')
    with pytest.raises(SurveyFileError, match="question 'csat': a text has no 'en' version"):
        load_catalog(write(tmp_path, spanish_only))
    assert load_catalog(write(tmp_path, 'default_language = "es"\n' + spanish_only))


def test_treatment_catalogue_rules(tmp_path: Path) -> None:
    one = '[[treatments]]\nid = "laser"\nlabel = "Laser"\n' + GOOD
    with pytest.raises(SurveyFileError, match="list no treatments, or 2 to 16"):
        load_catalog(write(tmp_path, one))
    two = '[[treatments]]\nid = "peel"\nlabel = "Peel"\n' + one
    reserved = two.replace('id = "csat"', 'id = "treatment"')
    with pytest.raises(SurveyFileError, match="'treatment' is reserved"):
        load_catalog(write(tmp_path, reserved))
    assert len(load_catalog(write(tmp_path, two)).treatments) == 2


def test_the_shipped_examples_cover_four_surveys_and_two_followups() -> None:
    catalog = load_catalog()
    assert [s.id for s in catalog.surveys] == [
        "post_visit",
        "results_check",
        "return_check",
        "pre_visit",
    ]
    assert [(rule.survey, rule.days) for rule in catalog.followups] == [
        ("results_check", 14),
        ("return_check", 90),
    ]
    assert catalog.default.id == "post_visit"


ROLES = """
default_language = "en"

[[surveys]]
id = "visit"
title = "Your visit"

[[surveys.questions]]
id = "satisfaction"
role = "csat"
type = "rating"
text = "How was it?"

[[surveys.questions]]
id = "recommend"
role = "nps"
type = "nps"
text = "Would you recommend us?"

[[surveys.questions]]
id = "csat"
type = "rating"
text = "How was the parking?"
"""


def test_roles_say_which_question_is_the_csat_whatever_its_id(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, ROLES))
    # A survey that declares roles gives the id `csat` no meaning of its own.
    assert catalog.surveys[0].roles == {"satisfaction": "csat", "recommend": "nps"}
    scores = catalog.score_questions()
    assert (scores.csat, scores.nps) == (("satisfaction",), ("recommend",))


def test_a_file_without_roles_keeps_the_old_ids() -> None:
    plain = load_catalog(None)
    assert plain.score_questions().csat == ("csat",)
    assert plain.surveys_without(QuestionRole.CSAT) == ("pre_visit",)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('role = "nps"\ntype = "nps"', 'role = "nps"\ntype = "rating"'), "a nps question must"),
        (('id = "csat"\ntype', 'id = "csat"\nrole = "csat"\ntype'), "only one question may"),
    ],
)
def test_roles_must_fit_the_question(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    with pytest.raises(SurveyFileError, match=problem):
        load_catalog(write(tmp_path, ROLES.replace(*change)))


def test_an_id_means_the_same_in_every_survey(tmp_path: Path) -> None:
    second = ROLES + (
        '\n[[surveys]]\nid = "later"\ntitle = "Later"\n\n[[surveys.questions]]\n'
        'id = "satisfaction"\ntype = "rating"\nrole = "csat"\ntext = "Still happy?"\n\n'
        '[[surveys.questions]]\nid = "recommend"\ntype = "nps"\ntext = "Recommend?"\n'
    )
    with pytest.raises(SurveyFileError, match="'recommend' is nps in survey 'visit'"):
        load_catalog(write(tmp_path, second))


def test_a_csat_rated_out_of_ten_is_satisfied_at_nine_and_ten(tmp_path: Path) -> None:
    ten = ROLES.replace(
        'role = "csat"\ntype = "rating"', 'role = "csat"\ntype = "rating"\nscale_max = 10'
    )
    scores = load_catalog(write(tmp_path, ten)).score_questions()
    assert scores.csat_scale("satisfaction") == range(1, 11)
    assert scores.satisfied_from("satisfaction") == 9
    assert scores.shared_csat_scale == range(1, 11)
    # The built-in survey rates 1..5: 4 and 5 are satisfied, as summaries always said.
    assert load_catalog(None).score_questions().satisfied_from("csat") == 4


def test_a_csat_question_rates_on_one_scale_in_every_survey(tmp_path: Path) -> None:
    second = ROLES + (
        '\n[[surveys]]\nid = "later"\ntitle = "Later"\n\n[[surveys.questions]]\n'
        'id = "satisfaction"\ntype = "rating"\nrole = "csat"\nscale_max = 10\n'
        'text = "Still happy?"\n'
    )
    with pytest.raises(SurveyFileError, match=r"'satisfaction' rates 1\.\.5 in survey 'visit'"):
        load_catalog(write(tmp_path, second))

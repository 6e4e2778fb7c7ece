"""Each shipped study is a folder of data files that load and agree with each other."""

from __future__ import annotations

import pytest

from analysis.codebook import load_codebook
from analysis.paths import study_dir, study_ids
from analysis.study import StudyError, load_study


def test_both_studies_ship():
    assert {"amk", "proirri"} <= set(study_ids())


@pytest.mark.parametrize("study", ["amk", "proirri"])
def test_study_folder_is_complete(study):
    s = load_study(study)
    folder = study_dir(study)
    assert s.id == study and s.title and s.institution and s.design
    cb = load_codebook(folder / "codebook.yaml")
    assert cb.roles.unit in cb.design and cb.roles.arm in cb.design
    assert s.nouns.unit.many.endswith("s") and s.nouns.cluster.count(2).startswith("2 ")


def test_public_data_credits_its_source_and_licence():
    s = load_study("proirri")
    assert s.data.status == "public" and s.data.label == "Public replication data"
    assert "Christian" in s.data.credit and "CC BY 4.0" in s.data.credit
    assert (study_dir("proirri") / "LICENSE").is_file()
    assert s.nouns.unit.one == "household" and s.nouns.cluster.many == "associations"


def test_demo_data_says_it_is_simulated():
    s = load_study("amk")
    assert s.data.status == "demo" and "simulated" in s.data.credit.lower()


def _folder(tmp_path, text):
    folder = tmp_path / "mystudy"
    folder.mkdir()
    (folder / "study.yaml").write_text(text)
    return folder


GOOD = """
title: T
institution: I
country: C
innovation: X
design: D
data: {status: real, label: Survey exports}
"""


def test_minimal_study_gets_default_nouns(tmp_path):
    s = load_study(folder=_folder(tmp_path, GOOD))
    assert s.id == "mystudy" and s.short_title == "T"
    assert (
        s.nouns.programme_arm == "programme clusters" and s.data.credit == "Data: Survey exports."
    )


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.replace("title: T\n", ""), "'title' is required"),
        (
            GOOD.replace("status: real", "status: simulated"),
            "data.status must be one of demo, real, public",
        ),
        (GOOD.replace("status: real", "status: public"), "'citation' is required"),
        (GOOD + "nouns: {village: hamlet}\n", "nouns.village is not one of"),
        (GOOD + "nouns: {unit: [a, b]}\n", "a noun is a word or {one: ..., many: ...}"),
        ("- a list\n", "must be a YAML mapping"),
        ("title: [unclosed\n", "cannot read study file"),
    ],
)
def test_bad_study_file_is_named(tmp_path, text, message):
    with pytest.raises(StudyError) as err:
        load_study(folder=_folder(tmp_path, text))
    assert message in str(err.value) and "study.yaml" in str(err.value)


@pytest.mark.parametrize("bad", ["../etc", "AMK", "a/b", ""])
def test_odd_study_ids_are_refused(bad):
    with pytest.raises(StudyError):
        load_study(bad if bad else "-")


def test_unknown_study_lists_the_shipped_ones():
    with pytest.raises(StudyError, match="shipped studies: .*amk.*proirri"):
        load_study("nosuchstudy")

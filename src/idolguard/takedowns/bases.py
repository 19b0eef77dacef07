"""Legal bases for a notice, as classes that name and check the elements the law or form requires.

A notice cannot be sent while an element is missing; the error names it. Each basis also says which
statements it adds to the notice text, in Korean and English, so the notice carries exactly what its basis needs.

Statements the law requires *the sender* to make (good faith; accuracy and authority under penalty of perjury)
are affirmations: they are false unless a person states them, so they are never defaulted to yes. The sender
ticks them in the web form or names them with ``takedowns draft --affirm good_faith,accuracy``; until then the
element is missing, the statement is left out of the notice text, and the notice cannot be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class MissingElements(ValueError):
    """A notice lacks elements its legal basis requires."""

    def __init__(self, basis: str, missing: list[str]) -> None:
        self.basis, self.missing = basis, missing
        super().__init__(f"{basis} notice is missing required element(s): {', '.join(missing)}")


@dataclass
class NoticeFields:
    """What a notice says, gathered from the case and the options given to ``takedowns draft``."""

    urls: list[str]
    description: str
    artist: str
    reporter_name: str
    reporter_email: str
    authority: str  # the agency's authority to act for the artist (e.g. the authorisation letter's reference)
    hashes: list[str]
    captures: list[str]
    good_faith: bool = False  # affirmed by the sender, never assumed (see Affirmation)
    accuracy_under_perjury: bool = False
    signature: str = ""
    copyrighted_work: str = ""
    reporter_phone: str = ""
    reporter_address: str = ""
    substantiation: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Affirmation:
    """A statement the sender must make personally: ``key`` is what ``--affirm`` takes, ``field`` the
    NoticeFields flag it sets (and the element named when it is missing)."""

    key: str
    field: str
    en: str
    ko: str


# What ``--affirm`` accepts, and the NoticeFields flag each one sets.
AFFIRM_KEYS = {"good_faith": "good_faith", "accuracy": "accuracy_under_perjury"}


class AffirmationError(ValueError):
    """An affirmation this basis does not have (or an unknown one) was given."""


class LegalBasis:
    key: ClassVar[str]
    title_en: ClassVar[str]
    title_ko: ClassVar[str]
    short_en: ClassVar[str]  # for lists and statistics
    short_ko: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ("urls", "description", "reporter_name", "reporter_email")
    # Statements the sender must affirm (in the text only once affirmed) ...
    affirmations: ClassVar[tuple[Affirmation, ...]] = ()
    # ... and the basis's own wording that is not a personal affirmation (always in the text).
    notes_en: ClassVar[tuple[str, ...]] = ()
    notes_ko: ClassVar[tuple[str, ...]] = ()

    def label(self, lang: str) -> str:
        """A short human name (lists, statistics) in ``lang``."""
        return self.short_ko if lang == "ko" else self.short_en

    def statements(self, fields: NoticeFields, lang: str) -> list[str]:
        """The statements the notice text carries: the affirmed ones, then the basis's own wording."""
        ko = lang == "ko"
        said = [(a.ko if ko else a.en) for a in self.affirmations if getattr(fields, a.field) is True]
        return said + list(self.notes_ko if ko else self.notes_en)

    def affirm_fields(self, keys: list[str]) -> dict[str, bool]:
        """``--affirm`` keys -> NoticeFields flags; an unknown key, or one this basis has no statement for,
        is an error naming what the basis takes (an affirmation is never silently dropped)."""
        own = {a.key: a.field for a in self.affirmations}
        out: dict[str, bool] = {}
        for key in keys:
            key = key.strip().lower()
            if not key:
                continue
            if key not in own:
                takes = ", ".join(own) or "no statement to affirm"
                raise AffirmationError(f"{self.key} has no statement {key!r} to affirm (it takes: {takes})")
            out[own[key]] = True
        return out

    def missing(self, fields: NoticeFields) -> list[str]:
        out = []
        for name in self.required:
            value = getattr(fields, name)
            if value in ("", None, [], False):
                out.append(name)
        return out

    def validate(self, fields: NoticeFields) -> None:
        missing = self.missing(fields)
        if missing:
            raise MissingElements(self.key, missing)


class EuDsaArticle16(LegalBasis):
    """EU Digital Services Act, Art. 16(2): substantiated reasons, exact electronic location (URLs), name and
    e-mail of the notifier, and a statement of good-faith belief that the information is accurate."""

    key = "eu_dsa_16"
    short_en = "EU DSA Art. 16"
    short_ko = "EU DSA 제16조"
    title_en = "Notice under Article 16 of the EU Digital Services Act (Regulation (EU) 2022/2065)"
    title_ko = "EU 디지털서비스법(DSA) 제16조에 따른 불법 콘텐츠 신고"
    required = ("urls", "description", "substantiation", "reporter_name", "reporter_email", "good_faith")
    affirmations = (
        Affirmation(
            "good_faith",
            "good_faith",
            "I have a bona fide belief that the information and allegations contained in this notice are accurate "
            "and complete.",
            "본 신고에 기재한 정보와 주장이 정확하고 완전하다고 선의로 믿습니다.",
        ),
    )


class Dmca512c3(LegalBasis):
    """US DMCA, 17 U.S.C. § 512(c)(3)(A): signature, the copyrighted work, the infringing material and its
    location, contact details, good-faith statement, and accuracy/authority under penalty of perjury. Used
    where official footage of the artist was the source material of the fake."""

    key = "dmca_512c3"
    short_en = "US DMCA § 512(c)(3)"
    short_ko = "미국 DMCA 제512조(c)(3)"
    title_en = "Notification of claimed infringement under 17 U.S.C. § 512(c)(3)"
    title_ko = "미국 저작권법(DMCA) 제512조(c)(3)에 따른 저작권 침해 통지"
    required = (
        "signature",
        "copyrighted_work",
        "urls",
        "description",
        "reporter_name",
        "reporter_email",
        "good_faith",
        "accuracy_under_perjury",
    )
    affirmations = (
        Affirmation(
            "good_faith",
            "good_faith",
            "I have a good faith belief that use of the material in the manner complained of is not authorized by "
            "the copyright owner, its agent, or the law.",
            "신고 대상 자료가 저작권자, 그 대리인 또는 법률에 의하여 허락되지 않은 방식으로 이용되고 있다고 "
            "선의로 믿습니다.",
        ),
        Affirmation(
            "accuracy",
            "accuracy_under_perjury",
            "The information in this notification is accurate, and under penalty of perjury, I am authorized to "
            "act on behalf of the owner of an exclusive right that is allegedly infringed.",
            "본 통지의 내용은 정확하며, 위증 시 처벌을 받을 것을 감수하고, 본인이 침해된 배타적 권리의 권리자를 "
            "대리할 권한이 있음을 확인합니다.",
        ),
    )


class KrTba225(LegalBasis):
    """Korea, Telecommunications Business Act Art. 22-5 (불법촬영물등 유통 방지): a request to delete or block
    illegally filmed material, including false video material (허위영상물) under Art. 14-2 of the Act on Special
    Cases Concerning the Punishment of Sexual Crimes, filed by the victim or a representative."""

    key = "kr_tba_22_5"
    short_en = "KR Telecommunications Business Act Art. 22-5"
    short_ko = "전기통신사업법 제22조의5"
    title_en = "Report and deletion request for illegally filmed material (Telecommunications Business Act Art. 22-5)"
    title_ko = "불법촬영물등 유통 신고·삭제요청서(전기통신사업법 제22조의5)"
    required = ("urls", "description", "reporter_name", "reporter_email", "authority")
    notes_ko = (
        "신고 대상 정보는 성폭력범죄의 처벌 등에 관한 특례법 제14조의2에 따른 허위영상물등(피해자의 의사에 반하여 "
        "성적 욕망 또는 수치심을 유발할 수 있는 형태로 편집·합성·가공된 영상물)에 해당하므로, 전기통신사업법 "
        "제22조의5 제1항에 따라 지체 없이 삭제 또는 접속차단 조치를 하여 주시기 바랍니다.",
    )
    notes_en = (
        "The reported material is false video material under Art. 14-2 of the Act on Special Cases Concerning the "
        "Punishment of Sexual Crimes (edited, synthesised or processed against the victim's will in a form that "
        "can cause sexual desire or shame); please delete it or block access without delay under Art. 22-5(1) of "
        "the Telecommunications Business Act.",
    )


class PlatformForm(LegalBasis):
    """A platform's own NCII/privacy form: the notice becomes a "fields to paste" list, one value per field."""

    key = "platform_form"
    short_en = "Platform report form"
    short_ko = "플랫폼 신고 양식"
    title_en = "Privacy / non-consensual intimate imagery report (fields for the platform's form)"
    title_ko = "사생활 침해·비동의 성적 이미지 신고(플랫폼 신고 양식 입력 항목)"
    required = ("urls", "description", "reporter_name", "reporter_email", "artist")


class PlainLetter(LegalBasis):
    key = "plain_letter"
    short_en = "Removal request letter"
    short_ko = "게시물 삭제 요청"
    title_en = "Request to remove content"
    title_ko = "게시물 삭제 요청"
    required = ("urls", "description", "reporter_name", "reporter_email")


BASES: dict[str, LegalBasis] = {
    b.key: b for b in (EuDsaArticle16(), Dmca512c3(), KrTba225(), PlatformForm(), PlainLetter())
}


def get_basis(key: str) -> LegalBasis:
    try:
        return BASES[key]
    except KeyError:
        raise ValueError(f"unknown legal basis {key!r}; use one of {', '.join(BASES)}") from None

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from app.extensions import Date, IdCursor, PageArgsSchema, Schema, Text
from app.ids import RowId
from app.parties.models import DOCUMENT_KINDS, LAWFUL_TERMINATION_GROUNDS, MEMBERSHIP_BASES


class _Vocabulary(fields.String):
    """A coded value that also accepts its Chinese words and national codes, stored canonically."""

    def __init__(self, aliases: dict[str, str], **kwargs):
        self.aliases = aliases
        choices = sorted(set(aliases.values()))
        kwargs.setdefault("metadata", {})["description"] = (
            kwargs.get("metadata", {}).get("description", "") + f" One of {', '.join(choices)}"
            " (Chinese terms and GB/T codes accepted).").strip()
        kwargs["metadata"]["enum"] = choices
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        canonical = self.aliases.get(text) or self.aliases.get(text.lower())
        if canonical is None:
            raise ValidationError(f"unknown value {text[:40]!r}")
        return canonical


def _aliases(table: dict[str, str]) -> dict[str, str]:
    out = {}
    for canonical, words in table.items():
        out[canonical] = canonical
        out.update({w: canonical for w in words.split()})
    return out


#: GB/T 2261.1 sex codes (1 male, 2 female) and the usual words.
SEXES = _aliases({"male": "男 男性 m 1", "female": "女 女性 f 2"})
#: Relation to the head of household: GB/T 4761 family-relation codes (first digit) and words.
RELATIONS_ACCEPTED = _aliases({
    "spouse": "配偶 夫 妻 丈夫 妻子 wife husband 10 11 12",
    "child": "子女 子 女 儿子 女儿 长子 次子 长女 次女 son daughter 20 21 22 23 24 25 26 27 29 30 31 32 33 "
             "34 35 36 37 39",
    "grandchild": "孙子 孙女 外孙子 外孙女 grandson granddaughter 40 41 42 43 44 45 46 47 48 49",
    "parent": "父母 父亲 母亲 父 母 father mother 50 51 52",
    "grandparent": "祖父母 祖父 祖母 外祖父 外祖母 grandfather grandmother 60 61 62 63 64",
    "sibling": "兄弟姐妹 兄 弟 姐 妹 哥哥 弟弟 姐姐 妹妹 brother sister 70 71 72 73 74 75 76 77 78",
    "child_in_law": "儿媳 女婿 daughter_in_law son_in_law 28 38",  # GB/T 4761: 28 女婿, 38 儿媳
    "other": "其他 其他亲属 非亲属 80 81 82 83 84 85 86 87 88 89 90 91 99",
})


class CollectiveCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(max=50),
                         metadata={"description": "14-digit issuer code (发包方编码); a malformed one is "
                                                  "422 COLLECTIVE_CODE_INVALID", "example": "21068110100101"})
    name = Text(required=True, max_length=200, metadata={"example": "长山镇前阳村第一村民小组"})


class CollectiveSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String(metadata={"description": "village (group digits 00) or group"})
    county = fields.String()
    township = fields.String()
    village = fields.String()
    households = fields.Integer(metadata={"description": "only on GET of one collective"})
    members = fields.Integer(metadata={"description": "active members; only on GET of one collective"})
    created_at = fields.AwareDateTime()
    ledger_seq = fields.Integer()


class CollectiveQueryArgsSchema(PageArgsSchema):
    within = fields.String(validate=validate.Regexp(r"^\d{0,14}$"),
                           metadata={"description": "division-code prefix, e.g. 210681"})


class CollectivePageSchema(Schema):
    items = fields.List(fields.Nested(CollectiveSchema))
    next_cursor = fields.String(allow_none=True)


class PersonInputSchema(Schema):
    name = Text(required=True, max_length=100)
    id_number = fields.String(required=True, validate=validate.Length(max=50),
                              metadata={"description": "18-character resident ID (GB 11643)"})
    sex = _Vocabulary(SEXES, metadata={"description": "Checked against the ID's sequence digit."})


class MemberInputSchema(PersonInputSchema):
    relation = _Vocabulary(RELATIONS_ACCEPTED, required=True,
                           metadata={"description": "Relation to the head of household."})


class HouseholdCreateSchema(Schema):
    head = fields.Nested(PersonInputSchema, required=True)
    members = fields.List(fields.Nested(MemberInputSchema), load_default=list,
                          validate=validate.Length(max=50))
    address = Text(max_length=300, allow_none=True)


class PersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    id_number = fields.String(metadata={"description": "masked for roles other than admin and clerk"})
    sex = fields.String()
    birth_date = fields.Date()
    relation = fields.String()
    household = fields.String()


class HouseholdSchema(Schema):
    code = fields.String(metadata={"description": "18-digit contractor code (承包方编码)"})
    collective = fields.String()
    address = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    ledger_seq = fields.Integer()
    members = fields.List(fields.Nested(PersonSchema))


class MembershipCreateSchema(Schema):
    person_id = RowId(required=True)
    basis = fields.String(required=True, validate=validate.OneOf(MEMBERSHIP_BASES))
    decided_on = Date(required=True, metadata={"description": "date of the members' assembly resolution"})
    resolution_document = RowId(allow_none=True)


class TerminationSchema(Schema):
    ground = fields.String(required=True, validate=validate.Length(min=1, max=50), metadata={
        "description": "lawful grounds only: " + ", ".join(LAWFUL_TERMINATION_GROUNDS)
                       + "; anything else (settled_in_city above all) is MEMBERSHIP_GROUND_NOT_LAWFUL"})
    decided_on = Date(required=True)
    resolution_document = RowId(allow_none=True)


class MembershipSchema(Schema):
    id = fields.Integer()
    collective = fields.String()
    person = fields.Nested(PersonSchema)
    basis = fields.String()
    decided_on = fields.Date()
    resolution_document = fields.Integer(allow_none=True)
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    active = fields.Boolean()
    end_ground = fields.String(allow_none=True)
    end_document = fields.Integer(allow_none=True)
    ledger_seq = fields.Integer()
    end_ledger_seq = fields.Integer(allow_none=True)


class MembershipQueryArgsSchema(PageArgsSchema):
    cursor = IdCursor()
    active = fields.Boolean(metadata={"description": "only active (true) or ended (false) memberships"})


class MembershipPageSchema(Schema):
    items = fields.List(fields.Nested(MembershipSchema))
    next_cursor = fields.String(allow_none=True)


class DocumentFormSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    title = Text(required=True, max_length=300)
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"),
                           metadata={"description": "county code; defaults to the uploader's scope"})


class DocumentFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class DocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    filename = fields.String()
    content_type = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    county = fields.String()
    created_at = fields.AwareDateTime()
    ledger_seq = fields.Integer()


class HistoryArgsSchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62),
                           metadata={"description": "entries after this seq (the previous page's next_after)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class HistoryEntrySchema(Schema):
    seq = fields.Integer()
    recorded_at = fields.AwareDateTime()
    actor = fields.String()
    kind = fields.String()
    subjects = fields.List(fields.String())
    leaf_hash = fields.String()
    inclusion_proof = fields.String(metadata={"description": "where to fetch the entry's RFC 9162 inclusion proof"})


class HouseholdHistorySchema(Schema):
    household = fields.String()
    items = fields.List(fields.Nested(HistoryEntrySchema))
    next_after = fields.Integer(allow_none=True)

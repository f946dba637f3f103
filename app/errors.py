"""Domain errors and the one handler that turns every error into the API's error shape (docs/architecture.md).

Services raise :class:`DomainError` subclasses carrying ``rule`` and ``basis``;
they never call ``abort()``. Messages are Chinese by default and English when
the request prefers it (``Accept-Language: en``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """A rule the registry enforces: its API code, HTTP status, legal basis and messages."""

    code: str
    status: int
    basis: str | None
    zh: str
    en: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


#: Every rule code with its HTTP status and legal basis (docs/rules.md lists them). Messages may use
#: ``{placeholders}`` filled from the error's ``details``.
RULES: dict[str, Rule] = _rules(
    Rule("ID_NUMBER_INVALID", 422, "GB 11643-1999 公民身份号码",
         "公民身份号码无效：{reason}", "Resident ID number is invalid: {reason}"),
    Rule("COLLECTIVE_CODE_INVALID", 422, "NY/T 2539 发包方编码",
         "发包方编码无效：{reason}", "Issuer code is invalid: {reason}"),
    Rule("PARCEL_CODE_INVALID", 422, "NY/T 2539 地块编码",
         "地块编码无效：{reason}", "Parcel code is invalid: {reason}"),
    Rule("HOUSEHOLD_CODES_EXHAUSTED", 409, "NY/T 2539 承包方编码（0001–8000 为农户）",
         "该发包方的农户编码 0001–8000 已用完", "Household codes 0001–8000 of this issuer are used up"),
    Rule("PARCEL_CODES_EXHAUSTED", 409, "NY/T 2539 地块编码",
         "该发包方的地块编码已用完", "Parcel codes of this issuer are used up"),
    Rule("PERSON_ALREADY_REGISTERED", 409, "GB 11643-1999 公民身份号码唯一",
         "该公民身份号码已登记在其他农户中", "This ID number is already registered in a household"),
    Rule("MEMBERSHIP_GROUND_NOT_LAWFUL", 422, "农村集体经济组织法 第十七、十八条",
         "成员身份只能因法定事由丧失（死亡、丧失国籍、加入其他集体经济组织、成为公务员、书面自愿退出）；"
         "进城落户、外出务工、求学、服兵役、离婚、服刑等均不是丧失成员身份的事由",
         "Membership ends only on a lawful ground (death, nationality lost, joined another "
         "collective, civil servant, voluntary written exit); settling in a city, work, study, "
         "military service, divorce or prison never end it"),
    Rule("ALREADY_A_MEMBER", 409, "农村集体经济组织法 第十一条",
         "此人已是该集体经济组织成员", "This person is already a member of this collective"),
    Rule("MEMBER_OF_OTHER_COLLECTIVE", 409, "农村集体经济组织法 第十一条（不得同时具有两个以上成员身份）",
         "此人已是其他集体经济组织成员，须先以“加入其他集体经济组织”终止原成员身份",
         "This person is a member of another collective; end that membership first "
         "(ground joined_other_collective)"),
    Rule("NOT_A_MEMBER", 422, "农村土地承包法 第十六条",
         "不是该集体经济组织的成员", "Not a member of this collective"),
    Rule("PERSON_NOT_IN_COLLECTIVE", 422, "农村集体经济组织法 第十一、十二条",
         "此人所在农户不属于该集体经济组织", "This person's household does not belong to this collective"),
    Rule("DATE_ORDER", 422, "不动产登记暂行条例 第十条、第十八条（登记事项准确记载；证明材料与申请登记的内容一致："
         "所记之事须已发生，先后有序）", "日期顺序不合理：{reason}", "Dates are out of order: {reason}"),
    Rule("GEOMETRY_INVALID", 422, "GB/T 35958 / OGC Simple Features 有效多边形",
         "地块图形无效：{reason}", "Parcel geometry is invalid: {reason}"),
    Rule("GEOMETRY_TOO_COMPLEX", 422, "本登记簿的图形上限（设置 SANQUAN_MAX_VERTICES、SANQUAN_MAX_PARTS）："
         "NY/T 2539 地块为简单多边形，超限的图形不是一宗地块",
         "地块图形过于复杂：{reason}", "Parcel geometry is too complex: {reason}"),
    Rule("CRS_UNSUPPORTED", 422, "CGCS2000（EPSG:4490）及其 3 度带高斯-克吕格投影",
         "不支持的坐标参照系：{reason}", "Unsupported coordinate reference system: {reason}"),
    Rule("OUTSIDE_SUPPORTED_AREA", 422, "CGCS2000 中国范围",
         "坐标不在中国境内：{reason}", "Coordinates are not in China: {reason}"),
    Rule("PARCEL_IMPLAUSIBLE", 422, "NY/T 2537 农村土地承包经营权调查规程（地块在其所在的 CGCS2000 3 度带内量算面积）；"
         "地块面积上限（设置 SANQUAN_MAX_PARCEL_AREA_M2）",
         "不是一宗可信的地块：{reason}", "Not a plausible parcel: {reason}"),
    Rule("CONTROL_CHARACTERS", 422, "RFC 3986 / RFC 8259 / RFC 7578：路径、查询参数、表单字段和文件名不含控制字符，"
         "JSON 字符串不含 NUL 等控制字符",
         "请求含有控制字符（如 NUL）：{where}", "The request holds control characters (NUL, say): {where}"),
    Rule("PACKAGE_INVALID", 422, "NY/T 2539 农村土地承包经营权确权登记数据库规范",
         "数据包无法读取：{reason}", "The package cannot be read: {reason}"),
    Rule("IMPORT_TOO_LARGE", 413, "本登记簿的上传上限（设置 SANQUAN_MAX_IMPORT_BYTES）",
         "数据包超过上传上限 {limit} 字节", "The package exceeds the upload limit of {limit} bytes"),
    Rule("IMPORT_NOT_READY", 409, "NY/T 2539 质量检查：检查完成、问题修正后方可入库",
         "导入任务当前状态为 {status}，不能提交", "The import is {status} and cannot be committed"),
    Rule("IMPORT_BLOCKED", 409, "NY/T 2539 质量检查",
         "数据包仍有 {blocking} 个阻断性问题，修正后重新上传",
         "{blocking} blocking problems remain; fix them and upload again"),
    Rule("IMPORT_WARNINGS_NOT_ACCEPTED", 409, "NY/T 2539 质量检查：警告须经确认后方可入库",
         "数据包有 {warnings} 个警告，请查阅后确认接受（accept_warnings）再提交",
         "The package has {warnings} warnings; read them and commit with accept_warnings"),
    Rule("PARCEL_OVERLAP", 409, "NY/T 2539 地块不得重叠",
         "与已登记地块重叠超过容差 {tolerance_m2} 平方米",
         "Overlaps registered parcels by more than {tolerance_m2} m²"),
    Rule("PARCEL_CODE_TAKEN", 409, "NY/T 2539 地块编码唯一",
         "地块编码 {code} 已被使用", "Parcel code {code} is already in use"),
    Rule("COLLECTIVE_EXISTS", 409, "NY/T 2539 发包方编码唯一",
         "发包方编码 {code} 已登记", "Issuer {code} is already registered"),
    Rule("IDEMPOTENCY_KEY_REUSED", 422, "IETF draft-ietf-httpapi-idempotency-key-header（同一幂等键只对应一个请求）",
         "幂等键已用于另一个不同的请求", "This Idempotency-Key was used for a different request"),
    Rule("IDEMPOTENCY_KEY_IN_USE", 409, "IETF draft-ietf-httpapi-idempotency-key-header（同一幂等键的请求不并发处理）",
         "使用该幂等键的请求仍在处理中", "A request with this Idempotency-Key is still being processed"),
    Rule("OUTSIDE_SCOPE", 403, "不动产登记暂行条例 第七条（由不动产所在地的登记机构办理）；用户的管辖范围（scope）",
         "超出您的管辖范围（{scope}）", "Outside your scope ({scope})"),
    Rule("DOCUMENT_TOO_LARGE", 413, "本登记簿的上传上限（设置 SANQUAN_MAX_DOCUMENT_BYTES）",
         "文件超过 {limit} 字节上限", "The file exceeds the {limit}-byte limit"),
    Rule("TERM_NOT_LAWFUL", 422, "农村土地承包法 第二十一条",
         "承包期限不符合法律规定", "The contract term is not lawful"),
    Rule("PARCEL_KIND_MISMATCH", 422, "NY/T 2539 地块类别",
         "地块类别与权利类型不符", "The parcel kind does not fit this right"),
    Rule("CONTRACT_TERM_MISMATCH", 409, "农村土地承包法 第二十一条",
         "一户一份家庭承包合同：新增地块须与该户现有合同的承包期一致",
         "One family contract per household: added parcels take the existing contract's term"),
    Rule("PARCEL_ALREADY_CONTRACTED", 409, "农村土地承包法 第二十三、二十四条",
         "地块已有有效的承包合同", "The parcel is already under an active contract"),
    Rule("PARCEL_ALREADY_HELD", 409, "土地管理法 第六十二条",
         "该宅基地已由其他农户依法使用", "Another household already holds this homestead plot"),
    Rule("RIGHT_NOT_ACTIVE", 409, "民法典 第二百一十七条（权属证书记载的事项应当与不动产登记簿一致）",
         "该权利已终止，不能发证", "The right has ended; no certificate can be issued"),
    Rule("REISSUE_REASON_REQUIRED", 422, "民法典 第二百一十七条（权属证书与登记簿一致：一项权利只有一份有效证书，"
         "换发、补发须说明原因）",
         "该权利已有有效证书，换发或补发须说明理由", "A certificate exists; a re-issue needs a reason"),
    Rule("ONE_HOMESTEAD_PER_HOUSEHOLD", 409, "土地管理法 第六十二条",
         "农村村民一户只能拥有一处宅基地", "One household, one homestead"),
    Rule("HOMESTEAD_AREA_EXCEEDS_STANDARD", 422, "土地管理法 第六十二条",
         "宅基地面积超过规定标准", "The homestead exceeds the area standard"),
    Rule("HOMESTEAD_REAPPLICATION_BARRED", 422, "土地管理法 第六十二条",
         "出卖、出租、赠与住宅后，再申请宅基地的，不予批准",
         "No new homestead after selling, renting out or giving away the house"),
    Rule("SHARE_PLAN_REQUIRED", 409, "农村集体经济组织法 第四十条",
         "该集体经济组织尚未制定份额量化方案", "The collective has no share plan yet"),
    Rule("SHARES_NOT_WHOLE", 422, "农村集体经济组织法 第四十条",
         "该方案的份额须为整数", "Shares are whole numbers under this plan"),
    Rule("SHARES_EXCEED_PLAN", 409, "农村集体经济组织法 第四十条",
         "份额超过集体收益分配方案总数", "Shares exceed the collective's plan"),
    Rule("SHARE_HOLDING_CAP", 409, "农村集体经济组织法 第四十二条",
         "超过每户持有份额上限", "Exceeds the per-household holding cap"),
    Rule("NO_SURRENDER_CONDITION", 422, "农村土地承包法 第二十七条；土地管理法实施条例 第三十六条",
         "不得以退出承包地、宅基地或集体收益分配权作为进城落户的条件",
         "Giving up a right may never be a condition of settling in a city"),
    Rule("CONSENT_REQUIRED", 422, "农村土地承包法 第二十七条；土地管理法 第六十二条",
         "须有权利人本人自愿签署的书面同意", "The holder's own signed, voluntary consent is required"),
    Rule("SAME_COLLECTIVE_ONLY", 422, "农村土地承包法 第三十三、三十四条",
         "只能在本集体经济组织内部进行", "Only within the same collective"),
    Rule("ISSUER_CONSENT_REQUIRED", 409, "农村土地承包法 第三十四条",
         "须经发包方同意", "The issuer's consent is required"),
    Rule("PAYMENT_REQUIRED", 409, "土地管理法 第六十二条（自愿有偿退出）",
         "价款未付清", "The price is not paid in full"),
    Rule("EXIT_NOTICE_PERIOD", 409, "农村土地承包法 第三十条",
         "自愿交回承包地须提前半年书面通知发包方", "Written notice to the issuer 6 months before is required"),
    Rule("NO_NEW_LAND_AFTER_RETURN", 422, "农村土地承包法 第三十条",
         "承包方在承包期内交回承包地的，在承包期内不得再要求承包土地",
         "A household that returned its contract land gets no new land in the same contract term"),
    Rule("TERM_EXCEEDS_CONTRACT", 422, "农村土地承包法 第三十八条",
         "流转期限不得超过承包期的剩余期限", "The term may not exceed the remaining contract term"),
    Rule("RIGHT_IN_DISPUTE", 409, "农村土地承包经营纠纷调解仲裁法 第四十二条",
         "权利处于争议冻结中", "The right is frozen by a dispute"),
    Rule("RIGHT_NOT_HELD", 422, "农村土地承包法 第三十三、三十四条（由承包方自主决定）",
         "农户 {household} 不持有权利 {right}", "Household {household} does not hold right {right}"),
    Rule("PARCEL_NOT_IN_RIGHT", 422, "农村土地承包法 第三十三、三十四、三十六条"
         "（承包方互换、转让、流转的是其承包的土地）",
         "地块不在该权利之下：{parcels}", "Parcels not under this right: {parcels}"),
    Rule("SHARES_EXCEED_HOLDING", 422, "农村集体经济组织法 第十二条",
         "转让份额超过持有份额 {held}", "More shares than the {held} held"),
    Rule("PRICE_REQUIRED", 422, "农村土地承包法 第二十七条；土地管理法 第六十二条（自愿有偿）",
         "流转和退出须有偿，价款应大于零", "Transfers and exits are paid: the price must be above zero"),
    Rule("PAYMENT_EXCEEDS_PRICE", 422, "农村土地承包法 第三十九条（价款由当事人双方协商确定：付款以约定价款为限）",
         "付款合计 {total} 超过价款 {price}", "Payments of {total} would exceed the price of {price}"),
    Rule("TRANSFER_CLOSED", 409, "不动产登记暂行条例 第十五条、第二十一条（申请已撤回，或已记载于登记簿而办结）",
         "该流转已{status}，不能再办理", "The transfer is {status}; nothing more can be done"),
    Rule("RIGHT_BUSY", 409, "本登记簿规则：同一权利或地块同时只办理一项流转"
         "（不动产登记暂行条例 第八条：以不动产单元登记）；"
         "已流转土地经营权的地块，再流转由受让方经承包方书面同意后办理（农村土地承包法 第四十六条）",
         "该权利或地块已有进行中的流转", "Another open transfer holds this right or parcel"),
    Rule("PRIORITY_RIGHT", 409, "农村土地承包法 第三十八条",
         "同等条件下本集体经济组织成员享有优先权", "Members of the collective have priority on equal terms"),
    Rule("ANNOUNCEMENT_TOO_SHORT", 422, "辽宁省农村产权流转交易管理办法（试行，2021）："
         "挂牌信息公告期（本登记簿设置 SANQUAN_ANNOUNCEMENT_WORKING_DAYS）",
         "公告期不得少于 {least} 个工作日", "The announcement must run at least {least} working days"),
    Rule("ANNOUNCEMENT_NOT_OVER", 409, "辽宁省农村产权流转交易管理办法（试行，2021）：公告期满方可成交；"
         "最高人民法院关于审理涉及农村土地承包纠纷案件适用法律问题的解释 第十一条（优先权在公告期内行使）",
         "公告期至 {ends_on} 届满，届满前不能成交", "The announcement runs until {ends_on}; no award before then"),
    Rule("BID_BELOW_ASKING", 422, "辽宁省农村产权流转交易管理办法（试行，2021）：报价不得低于挂牌价",
         "报价 {amount} 低于挂牌价 {asking}", "The bid of {amount} is below the asking price of {asking}"),
    Rule("LISTING_CLOSED", 409, "辽宁省农村产权流转交易管理办法（试行，2021）：挂牌项目成交或撤牌后终止交易",
         "该挂牌项目已{status}，不再办理", "The listing is {status}; nothing more can be done"),
    Rule("NO_QUALIFIED_BID", 409, "辽宁省农村产权流转交易管理办法（试行，2021）："
         "公告期满无合格意向受让方的，不能成交",
         "没有合格的报价，不能成交", "There is no qualified bid to award"),
    Rule("LISTING_NOT_COMPLETED", 409, "辽宁省农村产权流转交易管理办法（试行，2021）：交易完成后出具交易鉴证书",
         "成交的流转尚未办结，不能出具鉴证书",
         "The awarded transfer has not completed; no transaction certificate yet"),
    Rule("LISTING_NOT_AWARDED", 409, "农村土地承包法 第四十条（成交后由双方签订书面流转合同）",
         "挂牌项目尚未成交，没有流转合同", "The listing has not been awarded; there is no contract yet"),
    Rule("CONTRACT_NOT_APPLICABLE", 409, "农村土地承包法 第四十条（土地经营权流转合同）",
         "只有土地经营权出租（转包）、入股才有流转合同", "Only a lease or share-in of the management right has "
         "this contract"),
    Rule("REGISTRATION_TERM_TOO_SHORT", 422, "农村土地承包法 第四十一条",
         "流转期限五年以上的土地经营权才可以申请登记", "Only a management right of five years or more can be "
         "registered"),
    Rule("ALREADY_REGISTERED", 409, "农村土地承包法 第四十一条",
         "该土地经营权已经登记", "The management right is registered already"),
    Rule("NOT_REGISTERED", 409, "农村土地承包法 第四十一条",
         "该土地经营权尚未登记", "The management right is not registered"),
    Rule("DEADLINE_EXTENSION_EXCEEDED", 422, "农村土地承包经营纠纷调解仲裁法 第四十七条",
         "仲裁期限只能延长一次，且不超过三十日", "One extension of at most 30 days"),
    Rule("DISPUTE_STEP_ORDER", 409, "农村土地承包经营纠纷调解仲裁法 第三章"
         "（申请和受理、仲裁庭的组成、开庭和裁决依次进行）",
         "案件当前为“{status}”，不能办理“{step}”", "The case is {status}: it cannot take the step {step} now"),
    Rule("TRIBUNAL_COMPOSITION", 422, "农村土地承包经营纠纷调解仲裁法 第二十七条",
         "仲裁庭由三名仲裁员组成（其中一名为首席仲裁员）；经双方当事人同意，可以由一名仲裁员仲裁",
         "A tribunal is three arbitrators, one presiding, or one arbitrator when both parties agree"),
    Rule("RECUSAL_TOO_LATE", 409, "农村土地承包经营纠纷调解仲裁法 第二十八条",
         "回避申请应当在首次开庭前提出；回避事由在首次开庭后知道的，可以在最后一次开庭终结前提出",
         "Recusal is asked before the first hearing, or, for a cause learned later, before the last hearing ends"),
    Rule("HEARING_NOTICE_SHORT", 422, "农村土地承包经营纠纷调解仲裁法 第三十一条",
         "应当在开庭五个工作日前通知当事人，最迟 {notice_by}", "The parties are told five working days before a "
         "hearing: by {notice_by} at the latest"),
    Rule("ABSENCE_NOT_RECORDED", 422, "农村土地承包经营纠纷调解仲裁法 第三十五条",
         "缺席裁决或者视为撤回申请，须有经书面通知而未到庭的开庭记录",
         "An award by default or a deemed withdrawal needs a hearing, notified in writing, that the party missed"),
    Rule("AWARD_MAJORITY", 422, "农村土地承包经营纠纷仲裁规则（裁决按多数仲裁员的意见作出）",
         "裁决应当按照仲裁庭多数仲裁员的意见作出", "An award is made by the majority of the tribunal"),
    Rule("AGREEMENT_UNSIGNED", 422, "农村土地承包经营纠纷调解仲裁法 第十条、第十一条",
         "调解协议须经双方当事人签名（签收）并经调解人员（仲裁员）签名后方生效",
         "A mediation agreement takes effect when both parties and the mediator have signed it"),
    Rule("AWARD_NOT_BINDING", 409, "农村土地承包经营纠纷调解仲裁法 第四十八条",
         "裁决书尚未发生法律效力（送达后三十日内未起诉方生效），不能执行",
         "The award is not binding yet (30 days after service with no lawsuit): it cannot be enforced"),
    Rule("LAWSUIT_PERIOD_OVER", 409, "农村土地承包经营纠纷调解仲裁法 第四十八条",
         "收到裁决书之日起三十日内未起诉，裁决书已发生法律效力", "More than 30 days after the award was received: "
         "it is binding"),
    Rule("DISPUTE_OUT_OF_SCOPE", 422, "农村土地承包经营纠纷调解仲裁法 第二条",
         "因征收集体所有的土地及其补偿发生的纠纷，不属于农村土地承包仲裁委员会的受理范围，可以通过行政复议或者诉讼等方式解决",
         "Disputes over the expropriation of collective land and its compensation are outside the committee's "
         "scope: they go to administrative review or the courts"),
    Rule("TRANSFER_KIND_NOT_LAWFUL", 422, "农村土地承包法 第三十三、三十六条（互换、出租、入股只适用于承包地）；"
         "土地管理法 第六十二条、土地管理法实施条例 第三十五条（宅基地在本集体内转让或自愿有偿退出）",
         "{right_type} 权利不能以 {kind} 方式流转", "A {right_type} right cannot be moved by {kind}"),
    Rule("RECIPIENT_IS_HOLDER", 422, "农村土地承包法 第三十三、三十四条（与本集体经济组织的其他农户互换、转让）",
         "受让方就是权利人本户，不能流转给自己",
         "The recipient is the holder itself: a household cannot transfer to itself"),
    Rule("EXCHANGE_ONE_SIDED", 422, "农村土地承包法 第三十三条（承包方之间互换土地承包经营权）",
         "互换须双方各出地块", "An exchange moves parcels of both rights"),
    Rule("ISSUER_CONSENT_NOT_REQUIRED", 422, "农村土地承包法 第三十四条（只有转让须经发包方同意）；"
         "第三十三、三十六条（互换、出租、入股向发包方备案）；第三十条（交回须书面通知）",
         "{kind} 不需要发包方同意，只有转让需要", "A {kind} needs no consent from the issuer: only a 转让 does"),
    Rule("PARCEL_LAND_USE_MISMATCH", 422, "GB/T 21010 土地利用现状分类（0702 农村宅基地）；NY/T 2539 地块类别",
         "地块类别 {kind} 与土地用途 {land_use} 不符：宅基地的用途是宅基地，其他地块不是",
         "land_use {land_use} does not fit kind {kind}: a homestead plot is used as a homestead and no other "
         "parcel is"),
    Rule("DISPUTE_VENUE", 422, "农村土地承包经营纠纷调解仲裁法 第二十一条（向纠纷涉及的土地所在地的仲裁委员会申请）",
         "纠纷涉及的权利和地块须在同一县内", "The rights and parcels in dispute must lie in one county"),
    Rule("RECUSAL_REPLACEMENT_REQUIRED", 422, "农村土地承包经营纠纷调解仲裁法 第二十九条",
         "仲裁员因回避不能履行职责的，应当重新选定或者指定仲裁员",
         "A recused arbitrator is replaced: name the new one"),
    Rule("FREEZE_NOT_IN_DISPUTE", 422, "农村土地承包经营纠纷调解仲裁法 第四十二条（先行裁定维持本案争议的现状）",
         "只能冻结本案争议的权利和地块", "Only the rights and parcels in dispute in this case can be frozen"),
)


class DomainError(Exception):
    """A refusal the caller can act on; ``status`` picks the HTTP code."""

    status = 400

    def __init__(self, zh: str, en: str | None = None, *, rule: str | None = None,
                 basis: str | None = None, details: dict[str, Any] | None = None,
                 status: int | None = None, errors: dict | None = None):
        super().__init__(en or zh)
        self.zh, self.en = zh, en or zh
        self.rule, self.basis = rule, basis
        self.details = details or {}
        self.errors = errors
        if status is not None:
            self.status = status

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class RuleViolation(DomainError):
    """A business rule of :data:`RULES` refused the request."""

    status = 422

    def __init__(self, code: str, *, details: dict[str, Any] | None = None,
                 reason_zh: str | None = None, reason_en: str | None = None,
                 errors: dict | None = None):
        rule = RULES[code]
        # {reason} is the sentence for people; details["reason"] stays a machine key.
        fill = dict(details or {})
        fill_zh = {**fill, "reason": reason_zh or reason_en or ""}
        fill_en = {**fill, "reason": reason_en or reason_zh or ""}
        super().__init__(rule.zh.format_map(_Missing(fill_zh)), rule.en.format_map(_Missing(fill_en)),
                         rule=code, basis=rule.basis, details=details, status=rule.status,
                         errors=errors)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return ""


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404

    def __init__(self, what_zh: str, what_en: str, key: Any):
        super().__init__(f"{what_zh} {key} 不存在或不在您的权限范围内",
                         f"{what_en} {key} not found or outside your scope",
                         details={"id": str(key)})


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


_DEFAULT_MESSAGES = {
    400: ("请求格式错误", "Bad request"),
    401: ("缺少或无效的访问令牌（Authorization: Bearer …）", "Missing or invalid bearer token"),
    403: ("您的角色无权执行此操作", "Your role may not do this"),
    404: ("对象不存在或不在您的权限范围内", "Not found or outside your scope"),
    405: ("不支持该请求方法", "Method not allowed"),
    409: ("与登记簿当前状态冲突", "Conflicts with the registry's current state"),
    413: ("请求体过大", "Request body too large"),
    415: ("不支持的媒体类型", "Unsupported media type"),
    422: ("请求数据不符合要求，请查看 errors", "The request is malformed; see errors"),
    500: ("服务器内部错误，请联系管理员", "Internal server error"),
    503: ("服务暂不可用，请稍后重试", "Service unavailable, try again"),
}


def language() -> str:
    """``en`` when the request prefers English, else ``zh``."""
    best = request.accept_languages.best_match(["zh", "en"], default="zh") if request else "zh"
    return best or "zh"


def default_message(status: int, lang: str) -> str:
    zh, en = _DEFAULT_MESSAGES.get(status, (HTTPStatus(status).phrase, HTTPStatus(status).phrase))
    return en if lang == "en" else zh


def error_body(status: int, message: str, *, rule=None, basis=None, errors=None, details=None) -> dict:
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if rule:
        body["rule"] = rule
        if basis:
            body["basis"] = basis
    if errors:
        body["errors"] = errors
    if details:
        body["details"] = details
    return body


def http_error_response(error: HTTPException):
    """Error shape for werkzeug/flask-smorest HTTP errors (422 from schemas among them)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("messages")
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "files", "headers", "path"}:
        # webargs nests by location; one location is the common case, flatten it.
        errors = next(iter(errors.values())) if len(errors) == 1 else errors
    resp = jsonify(error_body(status, default_message(status, language()), errors=errors))
    resp.status_code = status
    for name, value in (error.get_headers() if hasattr(error, "get_headers") else []):
        if name.lower() not in ("content-type",):
            resp.headers[name] = value
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        lang = language()
        resp = jsonify(error_body(error.status, error.message(lang), rule=error.rule,
                                  basis=error.basis, errors=error.errors, details=error.details))
        resp.status_code = error.status
        return resp

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        log.info("integrity error: %s", error.orig)
        resp = jsonify(error_body(409, default_message(409, language())))
        resp.status_code = 409
        return resp

    @app.errorhandler(OperationalError)
    def _operational(error: OperationalError):
        log.warning("database busy or unavailable: %s", error.orig)
        resp = jsonify(error_body(503, default_message(503, language())))
        resp.status_code = 503
        resp.headers["Retry-After"] = "1"
        return resp

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return http_error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        resp = jsonify(error_body(500, default_message(500, language())))
        resp.status_code = 500
        return resp

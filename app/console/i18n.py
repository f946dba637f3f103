"""The console's words: Chinese by default, English when the browser prefers it.

Templates and views write the Chinese text and call ``_()`` on it; :data:`EN` holds its English. A test
checks that each of its calls in the console has its English here.
"""
from __future__ import annotations

from flask import g

from app.errors import language

EN = {
    # frame
    "三权登记": "Three-rights registry",
    "农村三权登记管理系统": "Rural three-rights registry",
    "首页": "Home",
    "查询": "Search",
    "登录": "Sign in",
    "退出登录": "Sign out",
    "访问令牌": "Access token",
    "请输入您的访问令牌（由管理员发放，只显示一次）": "Enter your access token (issued by an admin, shown once)",
    "令牌无效，请核对后重试": "The token is not valid; check it and try again",
    "会话已过期或未登录，请重新登录": "Your session has ended or you are not signed in; please sign in",
    "页面已过期，请刷新后重试（CSRF 校验失败）": "The page has expired; reload it and try again (CSRF check failed)",
    "未找到": "Not found",
    "在您的权限范围内没有找到该页面或记录": "No such page or record within your scope",
    "返回首页": "Back to home",
    "角色": "Role",
    "范围": "Scope",
    "全国": "everywhere",
    "管理员": "Admin",
    "经办人员": "Clerk",
    "产权交易窗口": "Exchange desk",
    "仲裁委员会": "Arbitration committee",
    "审计人员": "Auditor",
    # search
    "承包方编码、地块编码、姓名、身份证号或发包方编码":
        "Household code, parcel code, name, ID number or collective code",
    "查询结果": "Results",
    "没有找到匹配的记录": "Nothing matches",
    "承包方": "Household",
    "地块": "Parcel",
    "人员": "Person",
    "发包方": "Collective",
    # household
    "承包方（农户）": "Household",
    "地址": "Address",
    "家庭成员": "Members",
    "姓名": "Name",
    "公民身份号码": "ID number",
    "性别": "Sex",
    "出生日期": "Born",
    "与户主关系": "Relation",
    "成员身份": "Membership",
    "认定依据": "Basis",
    "认定日期": "Recognised on",
    "终止": "Ended",
    "终止事由": "Ground",
    "权利": "Rights",
    "权利类型": "Type",
    "期限": "Term",
    "状态": "Status",
    "有效": "in force",
    "已终止": "ended",
    "证书": "Certificates",
    "下载证书": "Download the certificate",
    "登记簿记录": "Ledger",
    "查看证明": "Proof",
    "历史": "History",
    "认定成员": "Recognise a member",
    "终止成员身份": "End a membership",
    "提交": "Submit",
    "已保存": "Saved",
    "被拒绝": "Refused",
    "依据": "Basis",
    "登记农户": "Register a household",
    "户主姓名": "Head's name",
    "户主公民身份号码": "Head's ID number",
    "男": "male",
    "女": "female",
    "决议日期": "Resolution date",
    "原始取得": "original",
    "出生": "birth",
    "婚姻": "marriage",
    "收养": "adoption",
    "移民安置": "resettlement",
    "其他": "other",
    "死亡": "death",
    "丧失中国国籍": "nationality lost",
    "加入其他集体经济组织": "joined another collective",
    "成为公务员": "civil servant",
    "书面自愿退出": "voluntary written exit",
    "进城落户": "settled in a city",
    "承包地": "contract land",
    "宅基地": "homestead",
    "集体收益分配权": "income shares",
    "土地承包经营权": "land contract right",
    "宅基地使用权": "homestead use right",
    # parcel
    "地块编码": "Parcel code",
    "地块名称": "Name",
    "地类": "Land use",
    "面积（平方米）": "Area (m²)",
    "面积（亩）": "Area (mu)",
    "亩": "mu",
    "四至": "Neighbours",
    "东至": "East",
    "南至": "South",
    "西至": "West",
    "北至": "North",
    "权利人（历年）": "Holders over time",
    "起": "From",
    "止": "To",
    "至今": "now",
    "地图": "Map",
    "相邻地块": "neighbouring parcels",
    "发包方地图": "Collective map",
    "按地类着色": "Coloured by land use",
    "登记地块": "Register a parcel",
    "地块类别": "Kind",
    "机动地": "reserve land",
    "自留地": "private plot",
    "耕地": "cultivated",
    "园地": "garden",
    "林地": "forest",
    "草地": "grassland",
    "坐标系": "Coordinate system",
    "界址点坐标（每行一个点：x,y）": "Boundary vertices (one per line: x,y)",
    "或上传一个要素的文件（GeoJSON、压缩的 Shapefile 或 GeoPackage）":
        "or upload a file of one feature (GeoJSON, zipped Shapefile or GeoPackage)",
    "与以下地块重叠（红色虚线为所填界址）": "Overlaps these parcels (the boundary given is dashed red)",
    # home
    "最近登记": "Recent registrations",
    "公告中的挂牌项目": "Listings on the notice board",
    "待办理的流转": "Transfers in progress",
    "本周到期与已逾期的期限": "Deadlines due this week and overdue",
    "登记簿状态": "Ledger status",
    "合规提示": "Compliance flags",
    "无": "none",
    "条目": "entries",
    "校验通过": "verified",
    "校验失败": "verification failed",
}


def lang() -> str:
    """``en`` or ``zh`` for this request (Accept-Language), remembered for the request."""
    if "console_lang" not in g:
        g.console_lang = language()
    return g.console_lang


def _(text: str) -> str:
    """The Chinese ``text`` in the request's language."""
    return EN.get(text, text) if lang() == "en" else text

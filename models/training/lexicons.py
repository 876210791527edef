"""Curated multilingual cue lexicons and the rules that turn them into weak labels.

Three kinds of cue, per ISO 639-1 language:

* **distrust** cues: doubt about the honesty or safety of the seller, the host, product claims,
  price fairness or payment (假货, scam, развод, võlts, estafa, 偽物, 사기, palsu, lừa đảo,
  ของปลอม...). A cue can name the topic the doubt is about (a fake → authenticity_quality).
* **topic** cues: words that place a text in one of our :class:`~streamwatch.events.Topic`
  values (快递 → shipping, size → size_specs...).
* **question** cues: interrogatives. They are used only to *withhold* a weak
  ``is_question=False``, so this list favours recall.

The rules favour precision over recall: a negated cue (不是假货, "not a scam", 偽物じゃない),
a hedged one (怕买到假货) or a bare authenticity question (是不是正品) gives
:attr:`Cue.AMBIGUOUS`, which the dataset builder turns into *no* label rather than a wrong one.

Matching: Chinese, Japanese, Thai and Korean cues match as substrings; cues in languages
written with spaces match whole words, case-insensitively, and a trailing ``*`` matches any
word ending (``обман*`` matches ``обманули``). ``MASKS`` are phrases removed before matching
because they contain a cue by accident (仿佛 contains 仿, đánh giá contains giá).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from streamwatch.events import Topic

SCRIPTIO_CONTINUA = frozenset({"zh", "ja", "th", "ko"})
"""Languages whose cues match as substrings (no spaces between words, or agglutinated)."""

AQ = Topic.AUTHENTICITY_QUALITY
PP = Topic.PRICE_PROMO
PAY = Topic.PAYMENT_SECURITY_PRIVACY

# --------------------------------------------------------------------------- distrust

DISTRUST: Mapping[str, Mapping[str, Topic | None]] = {
    "zh": {
        "假货": AQ,
        "假的": AQ,
        "假冒": AQ,
        "冒牌": AQ,
        "还好意思说": AQ,
        "被打开过": AQ,
        "打开过的": AQ,
        "被用过": AQ,
        "广告太假": AQ,
        "宣传太假": AQ,
        "怀疑它的真假": AQ,
        "怀疑真假": AQ,
        "不是正品": AQ,
        "不像正品": AQ,
        "非正品": AQ,
        "不正品": AQ,
        "高仿": AQ,
        "仿品": AQ,
        "仿冒": AQ,
        "山寨": AQ,
        "水货": AQ,
        "翻新机": AQ,
        "二手货": AQ,
        "二手的": AQ,
        "二手机": AQ,
        "以次充好": AQ,
        "货不对板": AQ,
        "与描述不符": AQ,
        "和描述不符": AQ,
        "与描述不一样": AQ,
        "和描述不一样": AQ,
        "与图片不符": AQ,
        "和图片不符": AQ,
        "和图片不一样": AQ,
        "与图片不一样": AQ,
        "图片都是假的": AQ,
        "虚假宣传": AQ,
        "虚假广告": AQ,
        "夸大宣传": AQ,
        "不知真假": AQ,
        "真假难辨": AQ,
        "莆田": AQ,
        "骗人": None,
        "骗子": None,
        "被骗": None,
        "骗钱": None,
        "坑我": None,
        "欺骗": None,
        "受骗": None,
        "诈骗": None,
        "行骗": None,
        "骗局": None,
        "欺诈": None,
        "忽悠": None,
        "坑人": None,
        "被坑": None,
        "坑钱": None,
        "太坑了": None,
        "黑心": None,
        "奸商": None,
        "刷单": None,
        "刷好评": None,
        "托儿": None,
        "信誉问题": None,
        "没有信誉": None,
        "不讲信誉": None,
        "没信誉": None,
        "言而无信": None,
        "说话不算数": None,
        "不守信用": None,
        "不诚信": None,
        "没诚信": None,
        "不讲诚信": None,
        "都是套路": None,
        "全是套路": None,
        "值得怀疑": None,
        "让人怀疑": None,
        "希望是正品": AQ,
        "但愿是正品": AQ,
        "刚才还便宜": PP,
        "刚刚还便宜": PP,
        "先涨价": PP,
        "先提价": PP,
        "价格欺诈": PP,
        "虚标原价": PP,
        "虚高": PP,
        "假打折": PP,
        "假优惠": PP,
        "割韭菜": PP,
        "盗刷": PAY,
        "信息泄露": PAY,
        "泄露信息": PAY,
        "泄露个人信息": PAY,
        "泄露隐私": PAY,
        "骚扰电话": PAY,
    },
    "en": {
        "fake": AQ,
        "fakes": AQ,
        "counterfeit*": AQ,
        "knockoff*": AQ,
        "knock-off*": AQ,
        "not genuine": AQ,
        "not authentic": AQ,
        "not original": AQ,
        "not the real": AQ,
        "replica*": AQ,
        "false advertising": AQ,
        "misleading": AQ,
        "bait and switch": AQ,
        "scam*": None,
        "fraud*": None,
        "rip-off": None,
        "ripoff*": None,
        "rip off": None,
        "ripped off": None,
        "con artist*": None,
        "swindl*": None,
        "shady": None,
        "sketchy": None,
        "dont trust": None,
        "don't trust": None,
        "can't trust": None,
        "price gouging": PP,
        "jacked up the price": PP,
        "was cheaper": PP,
        "fake discount*": PP,
        "stole my card": PAY,
        "card got stolen": PAY,
        "data leak*": PAY,
    },
    "ru": {
        "подделк*": AQ,
        "поддельн*": AQ,
        "фальшивк*": AQ,
        "фальшив*": AQ,
        "палёнк*": AQ,
        "паленк*": AQ,
        "палёный": AQ,
        "паленый": AQ,
        "не оригинал*": AQ,
        "реплик*": AQ,
        "левак": AQ,
        "ложная реклама": AQ,
        "обман*": None,
        "мошенни*": None,
        "развод": None,
        "разводят": None,
        "развели": None,
        "развод на деньги": None,
        "лохотрон*": None,
        "кидалов*": None,
        "кинули": None,
        "надули": None,
        "жулик*": None,
        "аферист*": None,
        "накрутили цен*": PP,
        "задрали цен*": PP,
        "был дешевле": PP,
        "было дешевле": PP,
        "украли данные": PAY,
        "утечка данных": PAY,
    },
    "et": {
        "võlts*": AQ,
        "järeletehtud": AQ,
        "libakaup*": AQ,
        "pole ehtne": AQ,
        "ei ole ehtne": AQ,
        "pole originaal": AQ,
        "ei ole originaal": AQ,
        "petis*": None,
        "petta*": None,
        "petetud": None,
        "pettus*": None,
        "petab": None,
        "kelm*": None,
        "nöörit*": None,
        "nööriti": None,
        "svindel*": None,
        "pettur*": None,
        "hinda tõst*": PP,
        "oli odavam": PP,
        "andmeleke": PAY,
    },
    "es": {
        "falsificad*": AQ,
        "falsificación": AQ,
        "falsificacion": AQ,
        "no es original": AQ,
        "réplica": AQ,
        "replica": AQ,
        "imitación": AQ,
        "trucho": AQ,
        "truchos": AQ,
        "publicidad engañosa": AQ,
        "pirata": AQ,
        "estafa*": None,
        "estafador*": None,
        "timo": None,
        "timador*": None,
        "fraude*": None,
        "me engañaron": None,
        "engaño": None,
        "engañosa": AQ,
        "no me fío": None,
        "no confío": None,
        "no confio": None,
        "precio inflado": PP,
        "estaba más barato": PP,
        "estaba mas barato": PP,
        "clonaron mi tarjeta": PAY,
        "robo de datos": PAY,
    },
    "pt": {
        "falsificad*": AQ,
        "falso": AQ,
        "não é original": AQ,
        "nao é original": AQ,
        "nao e original": AQ,
        "réplica": AQ,
        "pirata": AQ,
        "propaganda enganosa": AQ,
        "golpe*": None,
        "golpista*": None,
        "fraude*": None,
        "enganação": None,
        "enganacao": None,
        "me enganaram": None,
        "caloteir*": None,
        "picareta*": None,
        "não confio": None,
        "nao confio": None,
        "estava mais barato": PP,
        "tava mais barato": PP,
        "clonaram meu cartão": PAY,
        "clonaram meu cartao": PAY,
        "vazamento de dados": PAY,
    },
    "de": {
        "fälschung*": AQ,
        "gefälscht*": AQ,
        "nicht original": AQ,
        "nicht echt": AQ,
        "plagiat*": AQ,
        "nachgemacht*": AQ,
        "irreführend*": AQ,
        "betrug*": None,
        "betrüg*": None,
        "abzocke*": None,
        "abgezockt": None,
        "unseriös*": None,
        "schwindel*": None,
        "verarsch*": None,
        "wucher*": PP,
        "war billiger": PP,
        "datenleck*": PAY,
        "kreditkarte geklaut": PAY,
    },
    "ja": {
        "偽物": AQ,
        "にせもの": AQ,
        "ニセモノ": AQ,
        "偽造": AQ,
        "パチモン": AQ,
        "コピー品": AQ,
        "模造品": AQ,
        "本物じゃない": AQ,
        "本物ではない": AQ,
        "正規品じゃない": AQ,
        "誇大広告": AQ,
        "詐欺": None,
        "騙さ": None,
        "騙され": None,
        "だまされ": None,
        "ぼったくり": PP,
        "怪しい": None,
        "信用できない": None,
        "個人情報が漏": PAY,
        "不正利用": PAY,
    },
    "ko": {
        "가짜": AQ,
        "짝퉁": AQ,
        "위조": AQ,
        "모조품": AQ,
        "정품 아니": AQ,
        "정품이 아니": AQ,
        "허위광고": AQ,
        "과대광고": AQ,
        "사기": None,
        "속았": None,
        "속임": None,
        "먹튀": None,
        "못 믿": None,
        "믿을 수 없": None,
        "바가지": PP,
        "개인정보 유출": PAY,
    },
    "id": {
        "palsu": AQ,
        "kw": AQ,
        "abal-abal": AQ,
        "tiruan": AQ,
        "tidak asli": AQ,
        "gak asli": AQ,
        "nggak asli": AQ,
        "ga asli": AQ,
        "bukan ori": AQ,
        "bukan original": AQ,
        "bukan asli": AQ,
        "penipuan": None,
        "penipu": None,
        "tipu": None,
        "ditipu": None,
        "menipu": None,
        "nipu": None,
        "tidak amanah": None,
        "jangan percaya": None,
        "harga digoreng": PP,
        "data bocor": PAY,
    },
    "vi": {
        "hàng giả": AQ,
        "hàng nhái": AQ,
        "hàng fake": AQ,
        "fake": AQ,
        "giả mạo": AQ,
        "không chính hãng": AQ,
        "ko chính hãng": AQ,
        "k chính hãng": AQ,
        "không phải chính hãng": AQ,
        "không phải hàng chính hãng": AQ,
        "hàng dựng": AQ,
        "máy dựng": AQ,
        "hàng tân trang": AQ,
        "treo đầu dê": AQ,
        "lừa đảo": None,
        "lừa": None,
        "bị lừa": None,
        "gian lận": None,
        "không uy tín": None,
        "ko uy tín": None,
        "mất uy tín": None,
        "chém giá": PP,
        "lộ thông tin": PAY,
    },
    "th": {
        "ของปลอม": AQ,
        "ปลอม": AQ,
        "ไม่แท้": AQ,
        "ไม่ใช่ของแท้": AQ,
        "ของก๊อป": AQ,
        "ก๊อปเกรด": AQ,
        "เลียนแบบ": AQ,
        "โฆษณาเกินจริง": AQ,
        "หลอกลวง": None,
        "หลอก": None,
        "โดนหลอก": None,
        "มิจฉาชีพ": None,
        "โกง": None,
        "ต้มตุ๋น": None,
        "ฉ้อโกง": None,
        "โดนโกง": None,
        "ข้อมูลรั่ว": PAY,
    },
    "fr": {
        "contrefaçon*": AQ,
        "contrefait*": AQ,
        "pas authentique": AQ,
        "pas original": AQ,
        "arnaque*": None,
        "escroc*": None,
        "escroquerie*": None,
        "arnaqueur*": None,
    },
    "it": {
        "contraffatt*": AQ,
        "non originale": AQ,
        "truffa*": None,
        "truffator*": None,
        "fregatura*": None,
        "imbroglio": None,
    },
    "ar": {"مزيف": AQ, "مقلد": AQ, "تقليد": AQ, "نصب": None, "احتيال": None, "نصاب": None},
    "hi": {"नकली": AQ, "धोखा": None, "ठगी": None, "फ्रॉड": None, "fraud": None},
    "tr": {"sahte": AQ, "çakma": AQ, "dolandırıcı*": None},
}
"""Distrust cue → the topic the doubt is about (None: the text's topic cues decide)."""

NEGATORS_BEFORE: Mapping[str, tuple[str, ...]] = {
    "zh": (
        "不是",
        "不会",
        "没有",
        "没",
        "不像",
        "并非",
        "绝非",
        "非",
        "无",
        "不怕",
        "不可能",
        "杜绝",
        "拒绝",
        "保证不",
        "从不",
        "从没",
        "不用",
        "担心",
        "害怕",
        "怕",
        "以为",
        "防止",
        "打击",
        "谨防",
        "小心",
        "不",
        "别",
    ),
    "en": (
        "not",
        "no",
        "never",
        "isn't",
        "isnt",
        "aren't",
        "wasn't",
        "ain't",
        "without",
        "worried",
        "afraid",
        "scared",
        "avoid",
        "beware",
    ),
    "ru": ("не", "нет", "ни", "без", "боюсь", "боялся", "боялась"),
    "et": ("ei", "pole", "mitte", "polnud", "kartsin"),
    "es": ("no", "nunca", "sin", "ni", "miedo"),
    "pt": ("não", "nao", "nunca", "sem", "nem", "medo"),
    "de": ("nicht", "kein", "keine", "keinen", "nie", "ohne", "angst"),
    "ja": (),
    "ko": (),
    "id": ("tidak", "bukan", "gak", "nggak", "enggak", "ga", "tak", "takut", "anti"),
    "vi": ("không", "ko", "k", "chẳng", "chả", "không phải", "sợ", "chưa"),
    "th": ("ไม่ใช่", "ไม่ได้", "ไม่", "ไม่มี", "กลัว", "ไม่เคย"),
    "fr": ("pas", "ne", "jamais", "sans"),
    "it": ("non", "mai", "senza"),
    "ar": ("ليس", "لا", "غير"),
    "hi": ("नहीं", "नही", "nahi"),
    "tr": ("değil",),
}
"""Words just before a distrust cue that negate or hedge it (same clause, a few words back)."""

NEGATORS_AFTER: Mapping[str, tuple[str, ...]] = {
    "zh": ("似的", "一样"),
    "ja": ("じゃない", "ではない", "じゃあり", "ではあり", "でない", "じゃな"),
    "ko": ("아니", "아닙", "아님", "않"),
    "tr": ("değil",),
}
"""Words after a cue that negate it (偽物じゃない, 가짜 아니에요) or make it a simile
(跟二手货似的)."""

AMBIGUOUS_FORMS: Mapping[str, tuple[str, ...]] = {
    "zh": (
        "是不是正品",
        "是不是真的",
        "是不是假",
        "是正品吗",
        "是正品么",
        "正品吗",
        "是不是翻新",
        "是不是二手",
    ),
    "en": ("is it fake", "is this fake", "is it real", "is it genuine", "is it original"),
    "vi": ("có phải hàng giả", "có chính hãng không", "chính hãng không"),
}
"""Bare questions about authenticity: not distrust by themselves (a spec question)."""

DOUBT_MARKERS: Mapping[str, tuple[str, ...]] = {
    "zh": ("怀疑", "不知道", "不知", "不确定", "感觉", "觉得", "好像", "估计", "该不会"),
    "en": ("suspect", "wonder if", "doubt", "not sure"),
    "vi": ("nghi", "không biết"),
}
"""Words before an ambiguous form that turn it into doubt (怀疑是不是正品 → distrust)."""

MASKS: Mapping[str, tuple[str, ...]] = {
    "zh": (
        "仿佛",
        "模仿",
        "仿照",
        "仿真",
        "请假",
        "放假",
        "度假",
        "休假",
        "假期",
        "寒假",
        "暑假",
        "假日",
        "假设",
        "假如",
        "假装",
        "第二手",
        "假一赔",
        "假一罚",
        "打假",
        "坑爹",
        "托儿所",
    ),
    "en": ("fake news",),
    "ru": (),
    "vi": ("đánh giá", "giao diện", "giao tiếp", "lựa chọn", "lừa chọn"),
    "th": ("ปลอมตัว", "ปลอดภัย", "ฟันปลอม", "ขนตาปลอม", "เล็บปลอม", "แปลกปลอม", "ขนาดนี้", "ขนาดนั้น"),
    "ko": ("사기업", "사기충천", "사기진작"),
    "id": ("kwh",),
}

# --------------------------------------------------------------------------- topics

TOPIC_CUES: Mapping[Topic, Mapping[str, tuple[str, ...]]] = {
    Topic.PRICE_PROMO: {
        "zh": (
            "价格",
            "价钱",
            "多少钱",
            "便宜",
            "太贵",
            "很贵",
            "好贵",
            "贵了",
            "性价比",
            "划算",
            "优惠",
            "打折",
            "折扣",
            "降价",
            "涨价",
            "满减",
            "优惠券",
            "促销",
            "秒杀",
            "赠品",
            "差价",
            "价位",
            "原价",
            "特价",
            "活动价",
            "保价",
        ),
        "en": (
            "price*",
            "cheap*",
            "expensive",
            "discount*",
            "coupon*",
            "promo",
            "promos",
            "promotion*",
            "on sale",
            "how much",
            "cost",
            "costs",
            "overpriced",
            "bargain*",
            "deal",
            "deals",
        ),
        "ru": (
            "цен*",
            "дешев*",
            "дешёв*",
            "дорог*",
            "скидк*",
            "акци*",
            "промокод*",
            "сколько стоит",
            "стоимост*",
            "распродаж*",
            "купон*",
        ),
        "et": (
            "hind*",
            "odav*",
            "kallis",
            "kallim*",
            "allahindlus*",
            "soodus*",
            "maksab",
            "kampaania*",
        ),
        "es": (
            "precio*",
            "barato*",
            "barata*",
            "caro",
            "caros",
            "descuento*",
            "oferta*",
            "promoción",
            "promocion",
            "cupón",
            "cupon",
            "cuánto cuesta",
            "cuanto cuesta",
            "rebaja*",
        ),
        "pt": (
            "preço*",
            "preco*",
            "barato*",
            "barata*",
            "caro",
            "caros",
            "desconto*",
            "promoção",
            "promocao",
            "cupom",
            "quanto custa",
            "oferta*",
            "liquidação",
        ),
        "de": (
            "preis*",
            "billig*",
            "teuer*",
            "rabatt*",
            "angebot*",
            "gutschein*",
            "kostet",
            "reduziert*",
            "schnäppchen",
        ),
        "ja": (
            "値段",
            "価格",
            "安い",
            "割引",
            "セール",
            "クーポン",
            "いくら",
            "値下げ",
            "値上げ",
            "お得",
            "コスパ",
        ),
        "ko": ("가격", "할인", "쿠폰", "얼마", "비싸", "저렴", "세일", "특가", "가성비"),
        "id": ("harga", "murah", "mahal", "diskon", "promo", "voucher", "cashback", "potongan"),
        "vi": (
            "giá",
            "giá cả",
            "rẻ",
            "đắt",
            "khuyến mãi",
            "khuyến mại",
            "giảm giá",
            "ưu đãi",
            "voucher",
            "bao nhiêu tiền",
            "quà tặng",
        ),
        "th": ("ราคา", "แพง", "ลดราคา", "ส่วนลด", "โปรโมชั่น", "โปรโมชัน", "คูปอง", "กี่บาท"),
        "fr": ("prix", "cher", "chère", "réduction*", "promo*", "soldes", "coûte"),
        "it": (
            "prezzo",
            "prezzi",
            "economico",
            "costoso",
            "sconto*",
            "offerta*",
            "promo*",
            "quanto costa",
            "saldi",
        ),
        "ar": ("سعر", "السعر", "أسعار", "الاسعار", "رخيص", "غالي", "خصم", "تخفيض", "بكم"),
        "hi": ("कीमत", "दाम", "सस्ता", "महंगा", "छूट", "ऑफर"),
        "el": ("τιμή", "τιμές", "κόστος", "φθηνό", "ακριβό", "έκπτωση"),
        "ro": ("preț*", "pret", "ieftin*", "scump*", "reducere*", "cost*"),
        "tr": ("fiyat*", "ucuz*", "pahalı*", "indirim*", "maliyet*"),
    },
    Topic.SHIPPING: {
        "zh": (
            "快递",
            "物流",
            "发货",
            "送货",
            "配送",
            "到货",
            "包邮",
            "运费",
            "顺丰",
            "邮费",
            "送餐",
            "送达",
            "送来",
            "骑手",
            "外卖小哥",
            "送餐小哥",
            "快递小哥",
            "外卖员",
            "签收",
            "派送",
            "送得",
            "送的太",
            "送的很",
            "送的快",
            "送的慢",
        ),
        "en": (
            "shipping",
            "shipped",
            "ship",
            "ships",
            "delivery",
            "deliver*",
            "courier",
            "tracking",
            "postage",
            "parcel",
        ),
        "ru": ("доставк*", "доставил*", "доставят", "посылк*", "курьер*", "трек-номер*"),
        "et": ("tarne*", "saadetis*", "kuller*", "pakiautomaat*", "kohaletoimetamine"),
        "es": ("envío*", "envio*", "entrega*", "paquete*", "mensajería", "mensajeria"),
        "pt": ("frete", "entrega*", "envio*", "correios", "rastreio", "encomenda*"),
        "de": ("versand*", "lieferung*", "geliefert", "paket*", "zustellung*", "dhl", "hermes"),
        "ja": ("配送", "発送", "送料", "届い", "届く", "到着", "宅配"),
        "ko": ("배송", "택배", "배달", "발송", "송장"),
        "id": ("pengiriman", "dikirim", "ongkir", "kurir", "resi", "paket"),
        "vi": (
            "giao hàng",
            "giao máy",
            "giao nhanh",
            "giao chậm",
            "ship",
            "shipper",
            "vận chuyển",
            "nhận hàng",
            "đóng gói",
        ),
        "th": ("ส่งของ", "จัดส่ง", "ค่าส่ง", "พัสดุ", "ส่งฟรี", "เคอรี่", "kerry", "ส่งไว", "ส่งช้า", "ของถึง"),
        "fr": ("livraison*", "livré*", "colis", "expédition*"),
        "it": ("spedizion*", "consegn*", "pacco", "corriere"),
        "ar": ("شحن", "توصيل"),
        "hi": ("डिलीवरी",),
        "el": ("αποστολή", "παράδοση"),
        "ro": ("livrare*", "expediere*"),
        "tr": ("kargo*", "teslimat*"),
    },
    Topic.RETURNS_AFTERSALES: {
        "zh": (
            "退货",
            "退款",
            "换货",
            "退换",
            "售后",
            "保修",
            "维修",
            "返修",
            "质保",
            "七天无理由",
            "7天无理由",
            "无理由退",
            "退钱",
            "三包",
        ),
        "en": (
            "refund*",
            "return",
            "returns",
            "returned",
            "send it back",
            "warranty",
            "exchange",
            "repair*",
        ),
        "ru": ("возврат*", "вернуть деньги", "вернули деньги", "гаранти*", "обменять"),
        "et": ("tagastus*", "tagasta*", "raha tagasi", "garantii*"),
        "es": ("devolución*", "devolucion*", "reembolso*", "garantía*", "garantia"),
        "pt": ("devolução", "devolucao", "reembolso*", "trocar", "garantia*"),
        "de": (
            "rückgabe*",
            "rücksend*",
            "erstattung*",
            "umtausch*",
            "garantie*",
            "reklamation*",
            "geld zurück",
            "gewährleistung",
        ),
        "ja": ("返品", "返金", "交換", "保証", "修理", "アフターサービス"),
        "ko": ("환불", "반품", "교환", "보증", "수리"),
        "id": ("refund", "retur", "pengembalian", "garansi", "klaim", "tukar"),
        "vi": (
            "bảo hành",
            "đổi trả",
            "đổi máy",
            "trả hàng",
            "hoàn tiền",
            "1 đổi 1",
            "sửa chữa",
            "trả lại",
        ),
        "th": ("คืนเงิน", "คืนสินค้า", "เปลี่ยนสินค้า", "เคลม", "รับประกัน", "ประกันสินค้า"),
        "fr": ("remboursement*", "retour", "garantie"),
        "it": ("rimborso*", "reso", "garanzia"),
        "ar": ("استرجاع", "استرداد", "ضمان"),
    },
    Topic.AUTHENTICITY_QUALITY: {
        "zh": (
            "正品",
            "假货",
            "质量",
            "做工",
            "品质",
            "防伪",
            "真假",
            "掉色",
            "起球",
            "开胶",
            "开线",
            "瑕疵",
            "质感",
            "耐用",
            "难吃",
            "好吃",
            "不新鲜",
            "变质",
            "舒服",
            "舒适",
            "好看",
            "漂亮",
            "好用",
            "难用",
            "效果",
            "味道",
            "手感",
        ),
        "en": (
            "quality",
            "fake",
            "genuine",
            "authentic*",
            "counterfeit*",
            "durable",
            "well made",
            "cheaply made",
            "flimsy",
            "defect*",
            "comfortable",
            "looks great",
        ),
        "ru": ("качеств*", "подделк*", "оригинал*", "бракован*"),
        "et": ("kvaliteet*", "ehtne", "võlts*", "originaal*", "praak*"),
        "es": ("calidad", "auténtic*", "autentic*", "defecto*", "defectuos*", "falsificad*"),
        "pt": ("qualidade", "autêntic*", "defeito*", "falsificad*"),
        "de": ("qualität*", "gefälscht*", "fälschung*", "verarbeitung", "mangelhaft", "defekt*"),
        "ja": ("品質", "本物", "偽物", "正規品", "質感", "不良品"),
        "ko": ("품질", "정품", "가짜", "짝퉁", "퀄리티", "불량"),
        "id": ("kualitas", "asli", "ori", "original", "palsu", "kw", "cacat"),
        "vi": ("chất lượng", "chính hãng", "hàng giả", "hàng nhái", "hàng thật", "bị lỗi"),
        "th": ("คุณภาพ", "ของแท้", "ของปลอม", "ชำรุด"),
        "fr": ("qualité", "contrefaçon*", "authentique"),
        "it": ("qualità", "contraffatt*", "originale"),
        "ar": ("جودة", "أصلي", "تقليد"),
        "hi": ("क्वालिटी", "गुणवत्ता", "नकली", "असली"),
    },
    Topic.SIZE_SPECS: {
        "zh": (
            "尺码",
            "码数",
            "尺寸",
            "大小",
            "偏大",
            "偏小",
            "合身",
            "规格",
            "容量",
            "内存",
            "分辨率",
            "几码",
            "长度",
            "宽度",
            "重量",
            "厚度",
            "鞋码",
        ),
        "en": (
            "size",
            "sizes",
            "sizing",
            "dimension*",
            "measurements",
            "too small",
            "too big",
            "capacity",
            "specs",
        ),
        "ru": ("размер*", "характеристик*", "объём*"),
        "et": ("suurus*", "mõõt*", "mõõdud"),
        "es": ("talla*", "tamaño*", "medida*", "dimensiones"),
        "pt": ("tamanho*", "medida*", "numeração", "dimensões"),
        "de": ("größe*", "grösse*", "maße", "abmessung*", "passform"),
        "ja": ("サイズ", "寸法", "大きさ", "容量", "スペック"),
        "ko": ("사이즈", "치수", "크기", "용량", "스펙"),
        "id": ("ukuran", "size", "kapasitas", "spesifikasi"),
        "vi": ("kích thước", "size", "dung lượng", "cấu hình", "bộ nhớ"),
        "th": ("ไซส์", "ไซด์", "ขนาด", "สเปค", "ความจุ"),
        "fr": ("taille*", "dimensions"),
        "it": ("taglia*", "misura*", "dimensioni"),
    },
    Topic.STOCK: {
        "zh": (
            "缺货",
            "没货",
            "有货",
            "库存",
            "补货",
            "断货",
            "售罄",
            "抢购",
            "抢不到",
            "卖完",
            "现货",
            "预售",
        ),
        "en": (
            "in stock",
            "out of stock",
            "restock*",
            "sold out",
            "back in stock",
            "inventory",
            "preorder*",
            "pre-order*",
        ),
        "ru": ("в наличии", "наличи*", "распродан*", "предзаказ*"),
        "et": ("laos", "laoseis*", "ettetellimus*", "välja müüdud"),
        "es": ("en stock", "agotad*", "existencias", "preventa"),
        "pt": ("em estoque", "estoque", "esgotad*", "pré-venda"),
        "de": ("auf lager", "lagerbestand", "ausverkauft", "vorbestell*", "nicht lieferbar"),
        "ja": ("在庫", "品切れ", "売り切れ", "入荷", "完売"),
        "ko": ("재고", "품절", "입고", "매진"),
        "id": ("stok", "ready stock", "sold out", "restock"),
        "vi": (
            "hết hàng",
            "còn hàng",
            "hết máy",
            "còn máy",
            "hàng về",
            "đặt trước",
            "tồn kho",
            "cháy hàng",
        ),
        "th": ("ของหมด", "สินค้าหมด", "หมดสต็อก", "สต็อก", "ของเข้า", "พรีออเดอร์"),
        "fr": ("en stock", "rupture", "épuisé*"),
        "it": ("esaurit*", "in magazzino"),
    },
    Topic.PAYMENT_SECURITY_PRIVACY: {
        "zh": (
            "付款",
            "支付",
            "货到付款",
            "信用卡",
            "花呗",
            "分期",
            "转账",
            "隐私",
            "个人信息",
            "泄露",
            "盗刷",
            "骚扰电话",
            "扣款",
            "多扣",
            "银行卡",
            "支付宝",
            "微信支付",
        ),
        "en": (
            "payment*",
            "pay",
            "paid",
            "paying",
            "credit card",
            "paypal",
            "cash on delivery",
            "installment*",
            "privacy",
            "personal data",
            "card details",
            "double charged",
        ),
        "ru": ("оплат*", "наложенн* платеж*", "предоплат*", "персональн* данн*", "конфиденциальн*"),
        "et": (
            "makse*",
            "maksmine",
            "pangakaart*",
            "krediitkaart*",
            "järelmaks*",
            "privaatsus*",
            "isikuandme*",
        ),
        "es": (
            "pago*",
            "pagar",
            "tarjeta*",
            "contra reembolso",
            "transferencia",
            "privacidad",
            "datos personales",
            "cuotas",
        ),
        "pt": (
            "pagamento*",
            "pagar",
            "cartão",
            "boleto",
            "pix",
            "parcelad*",
            "privacidade",
            "dados pessoais",
        ),
        "de": (
            "zahlung*",
            "bezahl*",
            "kreditkarte*",
            "paypal",
            "überweisung*",
            "ratenzahlung*",
            "nachnahme",
            "datenschutz*",
        ),
        "ja": (
            "支払い",
            "支払",
            "決済",
            "代引き",
            "クレジットカード",
            "クレカ",
            "分割払い",
            "個人情報",
            "振込",
        ),
        "ko": ("결제", "무통장", "계좌이체", "할부", "개인정보", "입금"),
        "id": (
            "bayar",
            "pembayaran",
            "transfer",
            "cod",
            "kartu kredit",
            "cicilan",
            "paylater",
            "data pribadi",
        ),
        "vi": (
            "thanh toán",
            "trả góp",
            "chuyển khoản",
            "quẹt thẻ",
            "thẻ tín dụng",
            "cod",
            "thông tin cá nhân",
            "bảo mật",
        ),
        "th": (
            "โอนเงิน",
            "ชำระเงิน",
            "บัตรเครดิต",
            "ผ่อน",
            "เก็บเงินปลายทาง",
            "ข้อมูลส่วนตัว",
            "พร้อมเพย์",
            "จ่ายเงิน",
        ),
        "fr": ("paiement*", "payer", "carte bancaire", "virement"),
        "it": ("pagamento*", "pagare", "carta di credito", "bonifico"),
    },
    Topic.PRODUCT_USAGE: {
        "zh": (
            "怎么用",
            "如何使用",
            "使用方法",
            "用法",
            "说明书",
            "教程",
            "怎么装",
            "怎么洗",
            "怎么穿",
            "怎么吃",
            "食用方法",
        ),
        "en": (
            "how to use",
            "how do i use",
            "how do you use",
            "instructions",
            "user manual",
            "tutorial",
            "how to wear",
            "how to clean",
        ),
        "ru": ("как пользоваться", "инструкци*", "как использовать", "как установить"),
        "et": ("kasutusjuhend*", "juhend*", "kuidas kasutada"),
        "es": ("cómo se usa", "como se usa", "cómo usar", "como usar", "instrucciones", "tutorial"),
        "pt": ("como usar", "como usa", "instruções", "instrucoes", "tutorial"),
        "de": (
            "anleitung*",
            "bedienungsanleitung*",
            "gebrauchsanweisung*",
            "wie benutzt",
            "wie verwendet",
        ),
        "ja": ("使い方", "使用方法", "説明書", "取扱説明書", "設定方法"),
        "ko": ("사용법", "사용 방법", "사용방법", "설명서"),
        "id": (
            "cara pakai",
            "cara pemakaian",
            "cara penggunaan",
            "petunjuk",
            "cara pasang",
            "tutorial",
        ),
        "vi": ("cách dùng", "cách sử dụng", "hướng dẫn sử dụng", "sử dụng như thế nào"),
        "th": ("วิธีใช้", "ใช้ยังไง", "วิธีการใช้", "คู่มือ"),
        "fr": ("mode d'emploi", "comment utiliser", "notice"),
        "it": ("istruzioni", "come si usa"),
    },
    Topic.HOST_INTERACTION: {
        "zh": (
            "主播",
            "直播",
            "老铁",
            "家人们",
            "宝宝们",
            "点关注",
            "小姐姐",
            "大家好",
            "你好",
            "哈喽",
            "打卡",
            "上链接",
            "再讲一下",
        ),
        "en": (
            "host",
            "streamer",
            "stream",
            "shout out",
            "shoutout",
            "say hi",
            "hello",
            "hi",
            "hey guys",
            "hi everyone",
            "love your",
            "good morning",
            "good evening",
        ),
        "ru": (
            "привет*",
            "ведущ*",
            "стрим*",
            "эфир*",
            "здравствуйте",
            "добрый вечер",
            "доброе утро",
            "добрый день",
        ),
        "et": ("tere", "tervist", "otseülekan*", "striim*"),
        "es": (
            "hola",
            "saludos",
            "buenas noches",
            "buenos días",
            "buenas tardes",
            "directo",
            "en vivo",
            "stream*",
        ),
        "pt": ("olá", "oi", "bom dia", "boa noite", "boa tarde", "live", "ao vivo"),
        "de": ("hallo", "guten morgen", "guten abend", "guten tag", "servus", "moin", "stream*"),
        "ja": ("こんにちは", "こんばんは", "おはよう", "配信", "ライブ", "初見"),
        "ko": ("안녕하세요", "안녕", "방송", "라이브", "방장"),
        "id": ("halo", "hai", "selamat pagi", "selamat malam", "selamat siang", "kak", "live"),
        "vi": ("xin chào", "chào", "livestream", "live", "chị ơi"),
        "th": ("สวัสดี", "ไลฟ์", "แม่ค้า"),
        "fr": ("bonjour", "salut", "bonsoir", "live", "stream*"),
        "it": ("ciao", "buongiorno", "buonasera", "diretta"),
        "ar": ("مرحبا", "السلام عليكم", "أهلا", "بث"),
        "hi": ("नमस्ते", "namaste"),
        "tr": ("merhaba", "selam", "yayın*"),
    },
}
"""Topic cues per topic and language. ``other`` has none: it is what is left."""

WEAK_TOPICS: frozenset[Topic] = frozenset(
    {
        Topic.PRICE_PROMO,
        Topic.SHIPPING,
        Topic.RETURNS_AFTERSALES,
        Topic.AUTHENTICITY_QUALITY,
        Topic.SIZE_SPECS,
        Topic.STOCK,
        Topic.PAYMENT_SECURITY_PRIVACY,
        Topic.PRODUCT_USAGE,
    }
)
"""Topics the builder may assign from cues on reviews. host_interaction cues (greetings,
"主播") only block the weak ``other`` label: a greeting in a review is not talk to a host."""

# --------------------------------------------------------------------------- questions

HINGLISH = frozenset(
    {
        "hai",
        "hain",
        "nahi",
        "nahin",
        "nhi",
        "kya",
        "kyu",
        "kyun",
        "kyon",
        "ka",
        "ki",
        "ke",
        "ko",
        "mein",
        "mai",
        "main",
        "se",
        "aur",
        "bhi",
        "tha",
        "thi",
        "the",
        "ye",
        "yeh",
        "wo",
        "woh",
        "kar",
        "karo",
        "karna",
        "kiya",
        "diya",
        "raha",
        "rahe",
        "rahi",
        "hoga",
        "hogi",
        "mera",
        "meri",
        "mere",
        "tera",
        "teri",
        "tere",
        "apka",
        "apki",
        "aap",
        "tu",
        "tum",
        "hum",
        "bahut",
        "bohot",
        "bahot",
        "accha",
        "acha",
        "achha",
        "ji",
        "jab",
        "tab",
        "phir",
        "fir",
        "abhi",
        "sirf",
        "sahi",
        "chahiye",
        "liye",
        "wala",
        "wali",
        "wale",
        "yaar",
        "yar",
        "bhai",
        "sab",
        "kuch",
        "koi",
        "kaise",
        "kaisa",
        "kab",
        "kahan",
        "kaun",
        "kitna",
        "hua",
        "hui",
        "gaya",
        "gayi",
        "toh",
        "bas",
        "matlab",
        "pyar",
        "dil",
        "log",
        "kam",
        "ek",
        "do",
        "teen",
        "baat",
        "bol",
        "bola",
        "kaha",
        "gya",
        "gyi",
        "baj",
        "sabki",
        "sabko",
        "hu",
        "hoon",
        "hun",
        "mujhe",
        "tujhe",
        "usko",
        "unko",
        "aaj",
        "kal",
        "bhaijaan",
        "krne",
        "kr",
        "krna",
        "dekho",
        "dekha",
        "chalo",
        "jaldi",
    }
)
"""Romanized Hindi function words: a tweet of the UMSAB Hindi set without Devanagari and
without any of these is English, not Hindi."""

QUESTION_MARKS = ("?", "？", "¿", "؟")

QUESTION_ANYWHERE: Mapping[str, tuple[str, ...]] = {
    "zh": (
        "什么",
        "怎么",
        "为什么",
        "为何",
        "多少",
        "几个",
        "几点",
        "几号",
        "几码",
        "几斤",
        "几天能",
        "几天到",
        "几时",
        "哪",
        "谁",
        "是不是",
        "有没有",
        "能不能",
        "可不可以",
        "会不会",
        "要不要",
        "吗",
    ),
    "ja": (
        "何",
        "なに",
        "なぜ",
        "どう",
        "どこ",
        "いつ",
        "誰",
        "いくら",
        "どれ",
        "どの",
        "ですか",
        "ますか",
    ),
    "ko": (
        "뭐",
        "무엇",
        "왜",
        "어디",
        "언제",
        "누구",
        "얼마",
        "어떻게",
        "어떤",
        "몇",
        "까요",
        "나요",
    ),
    "th": (
        "ไหม",
        "มั้ย",
        "หรือเปล่า",
        "รึเปล่า",
        "ยังไง",
        "อย่างไร",
        "อะไร",
        "ที่ไหน",
        "เมื่อไหร่",
        "เท่าไหร่",
        "เท่าไร",
        "ทำไม",
        "ใคร",
        "หรอ",
        "เหรอ",
    ),
    "vi": (
        "sao",
        "gì",
        "nào",
        "đâu",
        "bao nhiêu",
        "bao giờ",
        "tại sao",
        "thế nào",
        "có ai",
        "được không",
        "có không",
        "không ạ",
        "chưa ạ",
    ),
    "hi": (
        "क्या",
        "क्यों",
        "कैसे",
        "कब",
        "कहाँ",
        "कौन",
        "कितना",
        "kya",
        "kyu",
        "kyun",
        "kaise",
        "kab",
        "kahan",
        "kaun",
        "kitna",
    ),
    "id": (
        "apa",
        "apakah",
        "kenapa",
        "mengapa",
        "bagaimana",
        "gimana",
        "kapan",
        "dimana",
        "di mana",
        "siapa",
        "berapa",
        "mana",
    ),
}
"""Interrogatives that mark a possible question anywhere in the text."""

QUESTION_CLAUSE_START: Mapping[str, tuple[str, ...]] = {
    "en": (
        "what",
        "how",
        "why",
        "when",
        "where",
        "who",
        "whom",
        "which",
        "whose",
        "is",
        "are",
        "am",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "shall",
        "has",
        "have",
        "had",
        "may",
        "might",
        "anyone",
        "any",
    ),
    "ru": (
        "что",
        "как",
        "почему",
        "зачем",
        "где",
        "когда",
        "сколько",
        "кто",
        "какой",
        "какая",
        "какие",
        "какое",
        "куда",
        "откуда",
        "чей",
        "разве",
        "неужели",
        "ли",
    ),
    "et": ("kas", "mis", "miks", "kus", "kuidas", "millal", "kes", "mitu", "milline", "kui"),
    "es": (
        "qué",
        "que",
        "cómo",
        "como",
        "cuándo",
        "cuando",
        "dónde",
        "donde",
        "por qué",
        "quién",
        "quien",
        "cuál",
        "cual",
        "cuánto",
        "cuanto",
        "cuánta",
        "alguien",
    ),
    "pt": (
        "que",
        "qual",
        "quais",
        "quando",
        "onde",
        "como",
        "quem",
        "quanto",
        "quanta",
        "por que",
        "porque",
        "cadê",
        "será",
        "alguém",
    ),
    "de": (
        "was",
        "wie",
        "warum",
        "wieso",
        "weshalb",
        "wann",
        "wo",
        "wer",
        "welche",
        "welcher",
        "welches",
        "wieviel",
        "ist",
        "sind",
        "hast",
        "hat",
        "habt",
        "kann",
        "kannst",
        "können",
        "gibt",
        "weißt",
        "darf",
        "soll",
        "muss",
        "wird",
        "würde",
    ),
    "fr": (
        "qu'est-ce",
        "quoi",
        "comment",
        "pourquoi",
        "quand",
        "où",
        "qui",
        "quel",
        "quelle",
        "combien",
        "est-ce",
    ),
    "it": (
        "che",
        "cosa",
        "come",
        "perché",
        "perchè",
        "quando",
        "dove",
        "chi",
        "quale",
        "quanto",
        "quanti",
    ),
    "ar": ("هل", "ماذا", "لماذا", "متى", "أين", "كيف", "كم", "ما", "من"),
}
"""Interrogatives that mark a possible question at the start of a sentence."""

QUESTION_CLAUSE_END: Mapping[str, tuple[str, ...]] = {
    "zh": ("呢", "吧", "啊", "么"),
    "ja": ("か", "の"),
    "ko": ("까", "니", "냐", "죠", "요"),
    "vi": ("không", "chưa", "hả", "à", "nhỉ", "ko", "k"),
    "id": ("kah", "ya", "tidak", "nggak", "gak"),
}
"""Particles that can end a question (checked on each sentence's last word / characters)."""

REQUEST_CUES: Mapping[str, tuple[str, ...]] = {
    "zh": ("请", "求", "麻烦", "帮我", "能否", "给我", "链接", "看看", "试一下", "拜托"),
    "en": (
        "please",
        "pls",
        "plz",
        "can you",
        "could you",
        "let me know",
        "tell me",
        "show me",
        "send me",
        "link",
        "say hi",
        "shout out",
    ),
    "ru": (
        "пожалуйста",
        "плиз",
        "скажите",
        "подскажите",
        "покажите",
        "дайте",
        "помогите",
        "ссылк*",
        "скинь*",
    ),
    "et": ("palun", "näidake", "näita", "öelge", "ütle", "link*"),
    "es": ("por favor", "porfa", "porfavor", "díganme", "digan", "muestra", "enséñame", "link"),
    "pt": ("por favor", "pfv", "pfvr", "me manda", "manda", "mostra", "link"),
    "de": ("bitte", "zeig*", "sag mal", "link"),
    "ja": ("ください", "下さい", "お願い", "おねがい", "教えて", "見せて"),
    "ko": ("주세요", "해줘", "부탁", "알려", "보여"),
    "id": ("tolong", "minta", "dong", "spill", "link"),
    "vi": (
        "cho em",
        "cho mình",
        "giúp",
        "xin",
        "ib",
        "với ạ",
        "link",
        "mong ad",
        "ad ơi",
        "shop ơi",
    ),
    "th": ("ด้วย", "ขอ", "หน่อย", "ช่วย", "ลิงค์", "ลิ้งค์"),
    "hi": ("please", "plz", "karwa do", "kar do", "karo", "do na", "bata", "batao", "bhejo"),
    "ar": ("من فضلك", "لو سمحت", "ارجو", "أرجو"),
    "fr": ("s'il vous plaît", "stp", "svp", "montre"),
    "it": ("per favore", "perfavore", "mostra"),
}
"""Requests count as questions (link pls, 主播看看我): they too withhold a weak False."""

# --------------------------------------------------------------------------- matching


class Cue(enum.Enum):
    """Outcome of the distrust rules on one text."""

    NONE = "none"  #: no distrust cue at all
    FOUND = "found"  #: an unnegated distrust cue
    AMBIGUOUS = "ambiguous"  #: only negated, hedged or bare-question cues


@dataclass(frozen=True, slots=True)
class DistrustResult:
    cue: Cue
    topic: Topic | None = None
    phrase: str = ""


_TOKEN = re.compile(r"[^\W_]+")
_CLAUSE_BREAK = re.compile(r"[。！？!?.;；,，、\n…~～]+")
_SENTENCE_BREAK = re.compile(r"[。！？!?.;；\n…]+")
_WINDOW_CHARS: Mapping[str, int] = {"zh": 4, "ja": 4, "ko": 6, "th": 10}
"""How far back a negator may stand, in characters, where words are not spaced."""
_WINDOW_WORDS = 3
_AFTER_CHARS = 8
_AFTER_WORDS = 2


def _langs(lang: str) -> tuple[str, ...]:
    """The row's language plus English (English words turn up in chat in every language)."""
    return (lang,) if lang == "en" else (lang, "en")


def _continua(lang: str) -> bool:
    return lang in SCRIPTIO_CONTINUA


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A cue prepared for matching: characters (zh/ja/ko/th) or word tokens."""

    text: str
    tokens: tuple[str, ...]
    prefix: bool
    chars: bool


@cache
def _phrase(raw: str, lang: str) -> _Phrase:
    body = raw.casefold().replace("’", "'")
    prefix = body.endswith("*")
    body = body.rstrip("*").strip()
    chars = _continua(lang) and not body.isascii()
    return _Phrase(body, tuple(_TOKEN.findall(body)), prefix, chars)


@dataclass(frozen=True, slots=True)
class _Span:
    clause: int
    start: int
    end: int


class _Analysed:
    """A text prepared once for all lookups in one language: masked, case-folded, cut into
    clauses (and into word tokens for languages written with spaces)."""

    __slots__ = ("clauses", "lang", "norm", "tokens", "words")

    def __init__(self, text: str, lang: str) -> None:
        low = text.casefold().replace("’", "'")
        for mask in MASKS.get(lang, ()):
            low = low.replace(mask.casefold(), " " * len(mask))
        self.lang = lang
        self.norm = low
        self.clauses = [c for c in _CLAUSE_BREAK.split(low) if c.strip()]
        self.tokens = [_TOKEN.findall(c) for c in self.clauses]
        self.words = frozenset(w for toks in self.tokens for w in toks)

    def spans(self, phrase: _Phrase) -> list[_Span]:
        """Every occurrence of ``phrase``, in clause-local characters or tokens."""
        found: list[_Span] = []
        if phrase.chars:
            if phrase.text not in self.norm:
                return found
            for ci, clause in enumerate(self.clauses):
                at = clause.find(phrase.text)
                while at >= 0:
                    found.append(_Span(ci, at, at + len(phrase.text)))
                    at = clause.find(phrase.text, at + 1)
            return found
        n = len(phrase.tokens)
        if n == 0 or not self._may_contain(phrase):
            return found
        for ci, toks in enumerate(self.tokens):
            for i in range(len(toks) - n + 1):
                if toks[i : i + n - 1] == list(phrase.tokens[:-1]) and _word_match(
                    toks[i + n - 1], phrase.tokens[-1], phrase.prefix
                ):
                    found.append(_Span(ci, i, i + n))
        return found

    def _may_contain(self, phrase: _Phrase) -> bool:
        head = phrase.tokens[0]
        if len(phrase.tokens) > 1 or not phrase.prefix:
            return head in self.words
        return any(w.startswith(head) for w in self.words)

    def before(self, span: _Span, size: int | None = None) -> str:
        """The clause text just before ``span`` (characters, or space-joined tokens)."""
        if _continua(self.lang):
            clause = self.clauses[span.clause]
            width = size or _WINDOW_CHARS.get(self.lang, 4)
            return clause[max(0, span.start - width) : span.start]
        toks = self.tokens[span.clause]
        return " ".join(toks[max(0, span.start - (size or _WINDOW_WORDS)) : span.start])

    def after(self, span: _Span) -> str:
        if _continua(self.lang):
            return self.clauses[span.clause][span.end : span.end + _AFTER_CHARS]
        return " ".join(self.tokens[span.clause][span.end : span.end + _AFTER_WORDS])


def _word_match(word: str, cue: str, prefix: bool) -> bool:
    return word.startswith(cue) if prefix else word == cue


def _contains_word(window: str, phrase: str, lang: str) -> bool:
    """Whether ``phrase`` occurs in a window returned by :meth:`_Analysed.before`/``after``."""
    if _continua(lang):
        return phrase in window
    toks = " ".join(_TOKEN.findall(phrase.casefold()))
    return bool(toks) and f" {toks} " in f" {window} "


class _Matcher:
    """Fast "does any of these phrases occur" test, compiled once per lexicon and language."""

    __slots__ = ("exact", "multi", "prefixes", "regex")

    multi: dict[str, tuple[_Phrase, ...]]
    """Multi-word phrases by their first word (checked only when that word occurs)."""

    def __init__(self, phrases: tuple[str, ...], lang: str) -> None:
        prepared = [_phrase(p, lang) for p in phrases]
        chars = sorted({p.text for p in prepared if p.chars}, key=len, reverse=True)
        self.regex = re.compile("|".join(map(re.escape, chars))) if chars else None
        single = [p for p in prepared if not p.chars and len(p.tokens) == 1]
        self.exact = frozenset(p.tokens[0] for p in single if not p.prefix)
        self.prefixes = tuple(p.tokens[0] for p in single if p.prefix)
        multi: dict[str, list[_Phrase]] = {}
        for p in prepared:
            if not p.chars and len(p.tokens) > 1:
                multi.setdefault(p.tokens[0], []).append(p)
        self.multi = {head: tuple(group) for head, group in multi.items()}

    def search(self, an: _Analysed) -> bool:
        if self.regex is not None and self.regex.search(an.norm):
            return True
        if self.exact & an.words:
            return True
        if self.prefixes and any(w.startswith(self.prefixes) for w in an.words):
            return True
        for head in self.multi.keys() & an.words:
            if any(an.spans(p) for p in self.multi[head]):
                return True
        return False


@cache
def _distrust_matcher(lang: str) -> _Matcher:
    return _Matcher(tuple(DISTRUST.get(lang, {})), lang)


@cache
def _topic_matcher(topic: Topic, lang: str) -> _Matcher:
    return _Matcher(TOPIC_CUES[topic].get(lang, ()), lang)


@cache
def _question_matcher(lang: str) -> _Matcher:
    return _Matcher(QUESTION_ANYWHERE.get(lang, ()), lang)


@cache
def _request_matcher(lang: str) -> _Matcher:
    return _Matcher(REQUEST_CUES.get(lang, ()), lang)


@cache
def _question_starts(lang: str) -> dict[int, frozenset[tuple[str, ...]]]:
    """Sentence-start interrogatives as word tuples, grouped by length."""
    words = (*QUESTION_CLAUSE_START.get(lang, ()), *QUESTION_CLAUSE_START["en"])
    grouped: dict[int, set[tuple[str, ...]]] = {}
    for w in words:
        toks = tuple(_TOKEN.findall(w.casefold()))
        grouped.setdefault(len(toks), set()).add(toks)
    return {n: frozenset(group) for n, group in grouped.items()}


def _negated(an: _Analysed, span: _Span) -> bool:
    before = an.before(span)
    if any(_contains_word(before, neg, an.lang) for neg in NEGATORS_BEFORE.get(an.lang, ())):
        return True
    after = an.after(span)
    return any(_contains_word(after, neg, an.lang) for neg in NEGATORS_AFTER.get(an.lang, ()))


def _ambiguous_form(an: _Analysed, span: _Span) -> bool | None:
    """None if the cue is not inside a bare authenticity question; else whether the question
    is preceded by a doubt marker (True: doubt, so distrust)."""
    for form in AMBIGUOUS_FORMS.get(an.lang, ()):
        for other in an.spans(_phrase(form, an.lang)):
            if other.clause == span.clause and other.start < span.end and span.start < other.end:
                before = an.before(other, 8 if _continua(an.lang) else 4)
                return any(_contains_word(before, d, an.lang) for d in DOUBT_MARKERS[an.lang])
    return None


def _distrust(an: _Analysed) -> DistrustResult:
    if not _distrust_matcher(an.lang).search(an):
        return DistrustResult(Cue.NONE)
    ambiguous = False
    for phrase, topic in DISTRUST[an.lang].items():
        for span in an.spans(_phrase(phrase, an.lang)):
            form = _ambiguous_form(an, span)
            if form is False or (form is None and _negated(an, span)):
                ambiguous = True
                continue
            return DistrustResult(Cue.FOUND, topic, phrase)
    return DistrustResult(Cue.AMBIGUOUS if ambiguous else Cue.NONE)


def _topics(an: _Analysed) -> set[Topic]:
    return {topic for topic in TOPIC_CUES if _topic_matcher(topic, an.lang).search(an)}


def _question_cue(an: _Analysed, raw: str) -> bool:
    if any(q in raw for q in QUESTION_MARKS):
        return True
    if _question_matcher(an.lang).search(an) or _request_matcher(an.lang).search(an):
        return True
    starts = _question_starts(an.lang)
    ends = QUESTION_CLAUSE_END.get(an.lang, ())
    for sentence in _SENTENCE_BREAK.split(an.norm):
        words = _TOKEN.findall(sentence)
        if not words:
            continue
        if any(tuple(words[:n]) in group for n, group in starts.items()):
            return True
        if _continua(an.lang):
            tail = sentence.rstrip(" ~～!！.。,，")
            if any(tail.endswith(e) for e in ends):
                return True
        elif words[-1] in ends:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Signals:
    """Everything the lexicons say about one text."""

    distrust: DistrustResult
    topics: frozenset[Topic]
    question_cue: bool
    """A question mark, an interrogative or a request: the text might be a question."""
    ends_with_question_mark: bool


def signals(text: str, lang: str) -> Signals:
    """Run all lexicons on ``text``: its own language's cues plus English ones."""
    own = _Analysed(text, lang)
    english = own if lang == "en" else _Analysed(text, "en")
    distrust = _distrust(own)
    if distrust.cue is not Cue.FOUND and english is not own:
        other = _distrust(english)
        if other.cue is Cue.FOUND or (other.cue is Cue.AMBIGUOUS and distrust.cue is Cue.NONE):
            distrust = other
    topics = _topics(own) | (_topics(english) if english is not own else set())
    return Signals(
        distrust=distrust,
        topics=frozenset(topics),
        question_cue=_question_cue(own, text),
        ends_with_question_mark=ends_with_question_mark(text),
    )


def distrust_signal(text: str, lang: str) -> DistrustResult:
    """Apply the distrust lexicon and negation rules to ``text`` written in ``lang``."""
    return signals(text, lang).distrust


def topic_cues(text: str, lang: str) -> frozenset[Topic]:
    """Every topic with a cue in ``text`` (row language plus English)."""
    own = _Analysed(text, lang)
    found = _topics(own)
    if lang != "en":
        found |= _topics(_Analysed(text, "en"))
    return frozenset(found)


def has_question_cue(text: str, lang: str) -> bool:
    """Whether ``text`` might be a question or request (recall-first: it only withholds False)."""
    return _question_cue(_Analysed(text, lang), text)


def ends_with_question_mark(text: str) -> bool:
    """Whether the last sentence-final character is a question mark (emoji, spaces skipped)."""
    for ch in reversed(text):
        if ch in QUESTION_MARKS:
            return True
        if ch.isspace() or not (ch.isalnum() or ch in ".!。！…"):
            continue
        return False
    return False


_DEVANAGARI = re.compile(r"[\u0900-\u097f]")


def looks_hindi(text: str) -> bool:
    """Devanagari, or at least one romanized Hindi function word (:data:`HINGLISH`)."""
    if _DEVANAGARI.search(text):
        return True
    return any(w in HINGLISH for w in _TOKEN.findall(text.casefold()))


def lexicon_languages() -> frozenset[str]:
    """Languages with distrust cues and cues for at least one topic."""
    topic_langs = {lang for by_lang in TOPIC_CUES.values() for lang in by_lang}
    return frozenset(DISTRUST) & frozenset(topic_langs)

"""A small multilingual rule-and-lexicon classifier: the fallback when no neural model is wanted.

It needs nothing but the standard library and answers in microseconds, so tests, benchmarks of
the pipeline itself and ``--model baseline`` use it. It knows question marks and question words or
particles, a short distrust lexicon, topic cue words and script-based language guesses for the
languages live sellers meet most. The transformer classifier is far more accurate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from streamwatch.events import Classification, Sentiment, Topic
from streamwatch.text import normalize

NAME = "baseline-lexicon/1"

_QUESTION_WORDS = {
    "en": "what when where which who why how is are do does can could will any price pls please"
    " link ship size",
    "ru": "что когда где какой какая какие кто почему как сколько есть можно ли будет доставка"
    " размер",
    "et": "kas mis millal kus kes miks kuidas palju saab saadate",
    "es": "qué que cuándo dónde cuál quién por cómo cuánto hay puedo envían tienen",
    "pt": "que quando onde qual quem por como quanto tem posso manda frete",
    "de": "was wann wo welche wer warum wie wieviel gibt kann versand",
    "id": "apa kapan dimana mana siapa kenapa bagaimana berapa ada bisa kirim",
    "vi": "gì khi nào đâu nào ai sao thế bao nhiêu không có được ship",
}
_QUESTION_PARTICLES = (
    "吗",
    "呢",
    "么",
    "嘛",
    "多少",
    "几",
    "怎么",
    "什么",
    "哪",
    "能不能",
    "有没有",
    "か",
    "ですか",
    "ますか",
    "나요",
    "까",
    "가요",
    "ไหม",
    "มั้ย",
    "เท่าไหร่",
    "อะไร",
)
_DISTRUST = (
    "fake",
    "scam",
    "ripoff",
    "rip off",
    "fraud",
    "lie",
    "liar",
    "not original",
    "not real",
    "cheaper yesterday",
    "bait",
    "假货",
    "假的",
    "骗",
    "虚假",
    "刚才还便宜",
    "割韭菜",
    "坑",
    "不是正品",
    "развод",
    "обман",
    "подделка",
    "кидал",
    "лохотрон",
    "petis",
    "pettus",
    "võlts",
    "estafa",
    "falso",
    "timo",
    "golpe",
    "fraude",
    "betrug",
    "fälschung",
    "偽物",
    "詐欺",
    "가짜",
    "사기",
    "palsu",
    "penipuan",
    "lừa đảo",
    "hàng giả",
    "ของปลอม",
    "หลอก",
)
_TOPICS: dict[Topic, tuple[str, ...]] = {
    Topic.PRICE_PROMO: (
        "price",
        "cost",
        "discount",
        "coupon",
        "cheap",
        "expensive",
        "多少钱",
        "价格",
        "优惠",
        "便宜",
        "贵",
        "券",
        "цена",
        "сколько стоит",
        "скидк",
        "дорог",
        "hind",
        "precio",
        "preço",
        "preis",
        "値段",
        "가격",
        "harga",
        "giá",
        "ราคา",
    ),
    Topic.SHIPPING: (
        "ship",
        "deliver",
        "shipping",
        "发货",
        "快递",
        "包邮",
        "邮",
        "物流",
        "доставк",
        "отправ",
        "saadate",
        "saatmine",
        "envío",
        "envio",
        "frete",
        "versand",
        "配送",
        "배송",
        "kirim",
        "ongkir",
        "giao",
        "ส่ง",
    ),
    Topic.RETURNS_AFTERSALES: (
        "return",
        "refund",
        "warranty",
        "退",
        "换货",
        "售后",
        "无理由",
        "возврат",
        "гарант",
        "tagast",
        "devolu",
        "reembolso",
        "rückgabe",
        "返品",
        "반품",
        "환불",
        "retur",
        "đổi trả",
        "คืน",
    ),
    Topic.AUTHENTICITY_QUALITY: (
        "real",
        "genuine",
        "original",
        "leather",
        "quality",
        "真皮",
        "正品",
        "质量",
        "材质",
        "натурал",
        "кожа",
        "качеств",
        "оригинал",
        "nahk",
        "ehtne",
        "cuero",
        "original",
        "couro",
        "leder",
        "本物",
        "정품",
        "asli",
        "chính hãng",
        "แท้",
    ),
    Topic.SIZE_SPECS: (
        "size",
        "fit",
        "cm",
        "kg",
        "color",
        "colour",
        "尺码",
        "码",
        "偏大",
        "偏小",
        "颜色",
        "尺寸",
        "размер",
        "цвет",
        "suurus",
        "talla",
        "tamanho",
        "größe",
        "サイズ",
        "사이즈",
        "ukuran",
        "kích",
        "ไซส์",
    ),
    Topic.STOCK: (
        "stock",
        "sold out",
        "available",
        "restock",
        "有货",
        "没货",
        "库存",
        "补货",
        "抢",
        "в наличии",
        "осталось",
        "laos",
        "agotado",
        "esgotado",
        "ausverkauft",
        "在庫",
        "재고",
        "stok",
        "hết hàng",
        "หมด",
    ),
    Topic.PAYMENT_SECURITY_PRIVACY: (
        "pay",
        "payment",
        "card",
        "paypal",
        "cod",
        "付款",
        "支付",
        "分期",
        "货到付款",
        "оплат",
        "карт",
        "makse",
        "pago",
        "pagamento",
        "zahlung",
        "支払",
        "결제",
        "bayar",
        "thanh toán",
        "จ่าย",
    ),
    Topic.PRODUCT_USAGE: (
        "how to use",
        "wash",
        "clean",
        "怎么用",
        "怎么洗",
        "使用",
        "как использовать",
        "стирать",
        "kasutada",
        "cómo usar",
        "como usar",
        "waschen",
        "使い方",
        "사용",
        "cara pakai",
        "cách dùng",
        "ใช้ยังไง",
    ),
    Topic.HOST_INTERACTION: (
        "hello",
        "hi ",
        "主播",
        "看看我",
        "привет",
        "tere",
        "hola",
        "olá",
        "hallo",
        "こんにちは",
        "안녕",
        "halo",
        "chào",
        "สวัสดี",
    ),
}
_POSITIVE = (
    "love",
    "great",
    "nice",
    "beautiful",
    "good",
    "wow",
    "❤",
    "😍",
    "👍",
    "好看",
    "喜欢",
    "漂亮",
    "真好",
    "棒",
    "красив",
    "класс",
    "супер",
    "ilus",
    "hea",
    "bonito",
    "lindo",
    "schön",
    "かわいい",
    "예쁘",
    "bagus",
    "đẹp",
    "สวย",
)
_NEGATIVE = (
    "bad",
    "ugly",
    "worst",
    "terrible",
    "broken",
    "expensive",
    "差",
    "难看",
    "太贵",
    "垃圾",
    "失望",
    "плохо",
    "ужас",
    "дорого",
    "halb",
    "kallis",
    "malo",
    "caro",
    "ruim",
    "schlecht",
    "teuer",
    "最悪",
    "별로",
    "jelek",
    "mahal",
    "tệ",
    "แย่",
    "แพง",
)
_LATIN_HINTS = {
    "et": (" kas ", " on ", " ja ", "õ", "ä", " mis ", "saadate", " palju"),
    "es": (" el ", " la ", " es ", " que ", "ñ", "¿", "¡", " hay "),
    "pt": (" o ", " é ", " não ", "ão", "ç", " tem ", " você"),
    "de": (" der ", " die ", " das ", " ist ", "ß", " nicht ", " und "),
    "id": (" ada ", " ini ", " bisa ", " yang ", " kak", " gak"),
    "vi": ("ư", "ơ", "đ", "ạ", "ả", "ấ", "ộ", "không"),
}
_WORD = re.compile(r"\w+")


def _lang(text: str) -> str:
    counts = {"zh": 0, "ja": 0, "ko": 0, "th": 0, "ru": 0, "latin": 0}
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF:
            counts["ja"] += 3
        elif 0x4E00 <= o <= 0x9FFF:
            counts["zh"] += 1
        elif 0xAC00 <= o <= 0xD7AF:
            counts["ko"] += 1
        elif 0x0E00 <= o <= 0x0E7F:
            counts["th"] += 1
        elif 0x0400 <= o <= 0x04FF:
            counts["ru"] += 1
        elif (ch.isascii() and ch.isalpha()) or 0x00C0 <= o <= 0x024F or 0x1E00 <= o <= 0x1EFF:
            counts["latin"] += 1
    script = max(counts, key=lambda k: counts[k])
    if counts[script] == 0:
        return "und"
    if script != "latin":
        return script
    padded = f" {text.casefold()} "
    best, score = "en", 0
    for lang, hints in _LATIN_HINTS.items():
        hits = sum(h in padded for h in hints)
        if hits > score:
            best, score = lang, hits
    return best


class BaselineClassifier:
    """Rules and lexicons; see the module docstring for what it knows. With ``languages``, a
    guessed language outside them is ``"und"``."""

    def __init__(self, languages: Sequence[str] | None = None) -> None:
        self._languages = frozenset(languages) if languages else None

    @property
    def name(self) -> str:
        return NAME

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> Classification:
        norm = normalize(text)
        padded = f" {norm} "
        words = set(_WORD.findall(norm))
        lang = _lang(text)
        if self._languages is not None and lang not in self._languages:
            lang = "und"
        q = 0.1
        if "?" in text or "？" in text:
            q = 0.9
        elif any(p in text for p in _QUESTION_PARTICLES):
            q = 0.75
        elif words & set(_QUESTION_WORDS.get(lang, _QUESTION_WORDS["en"]).split()):
            q = 0.6
        distrust_hits = sum(cue in padded for cue in _DISTRUST)
        d = min(0.95, 0.6 + 0.2 * distrust_hits) if distrust_hits else 0.05
        topic, t_score = Topic.OTHER, 0.3
        for candidate, cues in _TOPICS.items():
            hits = sum(cue in padded for cue in cues)
            if hits and (0.5 + 0.1 * hits) > t_score:
                topic, t_score = candidate, min(0.9, 0.5 + 0.1 * hits)
        if distrust_hits and topic is Topic.OTHER:
            topic, t_score = Topic.AUTHENTICITY_QUALITY, 0.5
        pos = sum(cue in text.casefold() for cue in _POSITIVE)
        neg = sum(cue in text.casefold() for cue in _NEGATIVE) + distrust_hits
        if neg > pos:
            scores = (0.7, 0.2, 0.1)
        elif pos > neg:
            scores = (0.1, 0.2, 0.7)
        else:
            scores = (0.15, 0.7, 0.15)
        sentiment = (Sentiment.NEG, Sentiment.NEU, Sentiment.POS)[scores.index(max(scores))]
        return Classification(
            is_question=q >= 0.5,
            question_score=q,
            sentiment=sentiment,
            sentiment_scores=scores,
            distrust=d >= 0.5,
            distrust_score=d,
            topic=topic,
            topic_score=t_score,
            lang=lang,
            model=NAME,
        )

"""Generate the bundled demo recording ``live_commerce_demo.jsonl``.

``streamwatch demo`` replays that file: 18 minutes of a Douyin-style live-commerce broadcast
by the shop ``LUMI轻奢官方旗舰店`` selling a leather tote, then a down jacket whose "flash sale"
price turns out higher than the one announced (and sold yesterday), which sets off a distrust
surge. The timeline is in ``README.md`` next to this file.

Run ``python -m streamwatch.demo.make_recording`` to rewrite the file (``--check`` only compares).
The output is a pure function of :data:`SEED`: one ``random.Random``, no clock, no network, no
set iteration, so a regeneration is byte-identical.

How a recording is made:

1. A cast of viewers per language, each with a plausible name, a stable ``user_id``, an
   activity weight (a few talk a lot, most once or twice) and a time window in the room.
2. Viewer message times from a non-homogeneous Poisson process: a base rate with quiet stretches,
   plus bursts after the scripted host announcements (:data:`SCRIPT`).
3. For each time: a language (:data:`LANG_WEIGHTS`), an intent whose weight depends on the
   moment (announcements boost some intents, e.g. the price rise boosts ``distrust_price``), a
   viewer, and a phrase from the hand-written banks (:data:`BANKS`), lightly varied (question marks
   dropped or doubled, lower case, emoji, the odd typo).
4. Some unanswered askers ask again in other words; the host answers some questions in chat with
   ``reply_to``; system notices, moderator lines and a handful of hostile texts are added.

:func:`build_recording` also returns the generator's own labels (intent, topic, question,
distrust) for every message, so tests can check what the pipeline finds against what was meant.
They describe what the generator intended, not a human annotation.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from streamwatch.events import Role, Topic

SEED: Final = 20261114
START: Final = datetime(2026, 11, 14, 12, 0, 0, tzinfo=UTC)
DURATION_S: Final = 18 * 60
PLATFORM: Final = "douyin"
SHOP_NAME: Final = "LUMI轻奢官方旗舰店"
SHOP_ID: Final = "dy_shop_lumi_official"
MODERATOR_NAME: Final = "场控小北"
MODERATOR_ID: Final = "dy_lumi_mod_xiaobei"
SYSTEM_NAME: Final = "system"
OUTPUT: Final = Path(__file__).with_name("live_commerce_demo.jsonl")

FIRST_LINK_S: Final = 150.0
"""The tote's purchase link goes up (nobody can have bought before)."""
JACKET_PREVIEW_S: Final = 540.0
"""The host switches from the tote to the down jacket and pre-announces a ¥459 flash price."""
PRICE_CHANGE_S: Final = 600.0
"""The jacket goes live at ¥599 instead: the price change that triggers the surge."""
SURGE_END_S: Final = 720.0
"""End of the two-minute window in which distrust peaks."""
EXPLANATION_S: Final = 700.0
"""The host explains the price and hands out a ¥60 coupon."""

QUESTION_INTENTS: Final = (
    "q_price",
    "q_discount",
    "q_link",
    "q_shipping",
    "q_size",
    "q_material",
    "q_stock",
    "q_returns",
    "q_payment",
    "q_usage",
    "host_interaction",
)
DISTRUST_INTENTS: Final = ("distrust_base", "distrust_price")
PRODUCT_INTENTS: Final = (*QUESTION_INTENTS, *DISTRUST_INTENTS, "compliment", "purchase")
"""Intents whose messages are about the product on sale (labelled ``bag`` or ``jacket``)."""

INTENT_TOPIC: Final[Mapping[str, Topic]] = {
    "q_price": Topic.PRICE_PROMO,
    "q_discount": Topic.PRICE_PROMO,
    "q_link": Topic.PRICE_PROMO,
    "q_shipping": Topic.SHIPPING,
    "q_size": Topic.SIZE_SPECS,
    "q_material": Topic.AUTHENTICITY_QUALITY,
    "q_stock": Topic.STOCK,
    "q_returns": Topic.RETURNS_AFTERSALES,
    "q_payment": Topic.PAYMENT_SECURITY_PRIVACY,
    "q_usage": Topic.PRODUCT_USAGE,
    "host_interaction": Topic.HOST_INTERACTION,
    "distrust_price": Topic.PRICE_PROMO,
    "distrust_base": Topic.AUTHENTICITY_QUALITY,
    "complaint": Topic.OTHER,
}
"""The concern topic each viewer intent is about (intents not listed carry no topic)."""


def _split(block: str) -> tuple[str, ...]:
    """The ``|``-separated, stripped items of a block, which may wrap over several lines."""
    return tuple(item.strip() for item in block.split("|") if item.strip())


_INTENT_LINE = re.compile(r"^([a-z_]+):(.*)$")


def _bank(block: str) -> dict[str, tuple[str, ...]]:
    """Parse a phrase bank: ``intent: phrase | phrase | ...``, continued on lines starting ``|``."""
    texts: dict[str, str] = {}
    intent = ""
    for raw in block.strip().splitlines():
        line = raw.strip()
        match = _INTENT_LINE.match(line)
        if match:
            intent = match.group(1)
            texts[intent] = match.group(2)
        elif line and intent:
            texts[intent] += " " + line
        elif line:
            raise ValueError(f"phrase bank line before any intent: {line!r}")
    return {intent: _split(text) for intent, text in texts.items()}


Bank = Mapping[str, tuple[str, ...]]
"""Intent -> phrases. ``intent_bag`` / ``intent_jacket`` add product-specific phrases to the
generic ``intent`` list; slots ``{h}`` (cm), ``{jin}`` (斤), ``{kg}`` and ``{size}`` are filled at
random."""

# --------------------------------------------------------------------------------------------
# Phrase banks: written by hand, one per language. Typos, slang and code-mixing are deliberate.
# --------------------------------------------------------------------------------------------

ZH: Final[Bank] = _bank("""
    greeting: 来了来了 | 主播晚上好 | 大家晚上好呀 | 来啦 | 晚上好～ | 打卡 | 报道 | 主播好
        | 又来了 | 宝宝们好 | 刚下班就来了 | 来了老铁 | 每天必到 | 打卡打卡 | 我来啦 | 哈喽哈喽
        | 南京的姐妹来了 | 广州的姐妹们在吗 | 签到 | 蹲了好久终于开播了 | 晚上好 主播今天好早
        | 下班路上来看看
    first_time: 第一次来 | 新粉报道 | 第一次看你直播 | 刷到的，进来看看 | 新来的，这是卖什么的
        | 朋友推荐来的 | 路过看看 | 第一次刷到，已关注 | 新人求照顾 | 第一次进直播间 卖的啥
    compliment: 好看 | 好好看啊 | 爱了爱了 | 质感绝了 | 颜色好高级 | 真的好看 想要 | 主播好美
        | 主播声音好好听 | 小姐姐好温柔 | 主播辛苦了 | 款式好经典 | 颜色好 nice | 这个颜色绝美
    compliment_bag: 这个包好好看 | 包包好看！ | 焦糖色绝美 | 这包看着不像三百多的 | 背着好显气质
        | 好有质感啊 这个包 | 米白色好温柔 | 这个包太绝了 | 上身效果好好 | 这个托特包好适合通勤
    compliment_jacket: 这件羽绒服好好看 | 好显瘦啊 | 蓬松度可以 | 米白色好高级 | 版型好好
        | 看着就暖和 | 面包服好可爱 | 好喜欢这个领子 | 模特穿得好好看 | 雾霾蓝好温柔
        | 这件比去年那件好看
    hype: 哈哈哈 | 哈哈哈哈哈 | 冲冲冲 | 买它！ | 上车上车 | 绝绝子 | yyds | 蹲一个 | 有点心动
        | 等等我 | 手慢无 | 姐妹们冲 | 我要我要 | 好想要 | 钱包又要瘦了 | 哈哈哈笑死
        | 又要剁手了 | 抢抢抢
    purchase: 已拍 | 拍了拍了 | 已下单 | 抢到了！ | 下单了，快点发货 | 拍了两个 | 终于抢到了
        | 付款了 | 刚下单 | 已拍+1 | 已拍 求早点发 | 拍了一个送我妈
    purchase_bag: 买了黑色 | 已拍 焦糖色 | 拍了米白的 | 抢到黑色了！
    purchase_jacket: 拍了M码 | 已拍 米白L | 拍了黑色XL | 给老公拍了一件XXL | 雾霾蓝M 已拍
    q_price: 多少钱 | 多少钱啊 | 价格多少 | 多少米 | 什么价 | 到手价多少？ | 现在多少钱 | 多钱
        | 主播多少钱啊 问了好几遍了 | 价格打在公屏上 | 公屏扣一下价格 | 怎么卖的 | 多少钱一个
        | 原价多少 | 直播间价格多少？ | 这个价格是到手价吗 | 多少钱？？没看到 | 价格呢
        | 这个啥价
    q_price_bag: 这个 bag 多少钱 | 包包多少钱 | 这个包多少钱？ | 399是到手价吗 | 托特包什么价
    q_price_jacket: 羽绒服多少钱 | 这件衣服多少钱？ | 面包服什么价 | 羽绒服到手多少
    q_discount: 有优惠券吗 | 有没有券 | 能便宜点吗 | 还能再便宜吗 | 有满减吗 | 新人有优惠吗
        | 粉丝有福利吗 | 买两个有优惠吗 | 券在哪领 | 优惠券怎么领？ | 老粉有没有折扣 | 会降价吗
        | 可以叠券吗
    q_link: 链接呢 | 链接在哪 | 几号链接 | 上链接啊 | 求链接 | 小黄车几号 | 怎么买 | 在哪里拍
        | 链接没看到 | 刷新了也没看到链接 | 求 link
    q_link_bag: 哪个链接是包包 | 包包是几号链接？
    q_link_jacket: 羽绒服几号链接 | 2号链接是羽绒服吗
    q_shipping: 能发新疆吗 | 包邮吗 | 发货快吗 | 几天能到 | 西藏能发吗 | 什么快递 | 发顺丰吗
        | 今天拍什么时候发 | 新疆包邮吗 | 偏远地区发不发 | 能寄到香港吗 | 海外能寄吗
        | 内蒙古几天到 | 从哪里发货 | 48小时内发货吗 | 能发加拿大吗 | 能发台湾吗
        | 乌鲁木齐能到吗 | 海南包邮不 | 顺丰还是中通 | 多久发货啊 | 发哪个快递 韵达不要
    q_size_bag: 包多大 | 尺寸多少 | 能装下ipad吗 | 能放下13寸电脑吗 | 长宽高多少 | 容量大吗
        | 能装保温杯吗 | 肩带能调吗 | 有小号的吗 | 能斜挎吗 | 大号小号区别 | 身高155背会不会太大
        | A4文件能放吗
    q_size_jacket: 尺码偏大吗？ | 尺码准吗 | {h} {jin}斤穿什么码 | {h}/{jin}斤 M还是L
        | 身高{h}体重{jin}斤选哪个码 | 偏大还是偏小 | 有XXL吗 | 胖子能穿吗 | {h}的穿多长
        | 衣长多少 | 袖子长吗 | 我平时穿L这个选什么 | 微胖穿哪个码 | 有大码吗 | 是宽松版吗
        | 里面穿毛衣会不会紧 | 这个 size 偏大吗 | 有 {size} 码吗
    q_material_bag: 真皮吗 | 是真皮还是PU | 头层牛皮吗 | 什么皮 | 会不会掉色 | 是正品吗
        | 有没有异味 | 五金会掉漆吗 | 有皮质鉴定吗 | 真的是牛皮？ | 是不是pu的啊 | 做工怎么样
        | 内里是什么材质
    q_material_jacket: 含绒量多少 | 鸭绒还是鹅绒 | 白鸭绒吗 | 充绒量多少克 | 会钻绒吗
        | 是不是丝棉的 | 有吊牌和检测报告吗 | 蓬松度多少 | 是90绒吗 | 面料防水吗 | 是真羽绒吗
        | 会不会有味道
    q_stock: 还有货吗 | 还有吗 | 黑色还有吗 | 怎么显示已抢光 | 什么时候补货 | 还能拍吗
        | 库存多少 | 没抢到 还会上吗 | 卖完了吗 | 补货吗主播 | 怎么没货了 | 还有库存吗
        | 是不是没货了
    q_stock_bag: 焦糖色还有吗 | 米白还有货吗 | 黑色的包还有吗？
    q_stock_jacket: M码没了？ | L码还有吗 | 雾霾蓝还有吗 | XL还有没有
    q_returns: 7天无理由吗 | 七天无理由退换吗 | 可以退吗 | 不合适能换吗 | 有运费险吗
        | 退货包运费吗 | 质量问题怎么办 | 保修吗 | 拍错码能换吗 | 不喜欢可以退吗 | 售后有保障吗
        | 退换货谁出运费 | 坏了能退吗 | 拍错颜色了能改吗
    q_payment: 能用花呗吗 | 可以分期吗 | 花呗免息吗 | 货到付款吗 | 能用信用卡吗
        | 付款失败怎么回事 | 一直付不了款 | 先用后付可以吗 | 月付有吗 | 能开发票吗
        | 支付宝能付吗 | 能用微信付吗 | 付款一直转圈
    q_usage_bag: 怎么保养 | 下雨能背吗 | 脏了怎么清洁 | 适合上班背吗 | 能当通勤包吗 | 男生能背吗
        | 送妈妈合适吗 | 皮会不会越用越软 | 刮花了能修吗 | 适合多大年龄
    q_usage_jacket: 能机洗吗 | 零下二十度够吗 | 东北能穿吗 | 可以干洗吗 | 哈尔滨穿够吗
        | 洗了会不会结块 | 怎么洗 | 南方穿会不会太热 | 能手洗吗 | 帽子可以拆吗 | 学生穿合适吗
        | 下雪天能穿吗 | 能穿去滑雪吗 | 骑电动车冷不冷
    host_interaction: 主播转一圈看看 | 主播多高 | 主播看看我 | 主播回一下我 | 能看看背面吗
        | 主播喝口水吧 | 镜头近一点 | 看不清 拉近点 | 主播能念一下我的名字吗 | 主播多重
        | 背景音乐叫什么 | 再看一下黑色
    host_interaction_bag: 看看里面 | 拉链打开看看 | 主播试背一下 | 斜挎一下看看
    host_interaction_jacket: 能不能上身看看 | 主播穿的什么码 | 试一下L码 | 把帽子戴上看看
        | 拉链拉上看看
    complaint: 卡了 | 好卡啊 | 声音好小 | 画面卡住了 | 主播不回我 | 问了半天没人理 | 讲快点
        | 回答一下问题啊 | 网络不好吗 | 没抢到😭 | 又没抢到
    distrust_base: 真的假的 | 这么便宜能是真皮？ | 是不是托啊 | 评论区都是托吧 | 感觉不靠谱
        | 之前在直播间买过 质量一般 | 别又是货不对板 | 假货吧 | 骗人的吧 | 天天说最后一波
        | 原价699是虚标的吧
    distrust_price: 刚才还便宜 | 不是说459吗？？ | 昨天才459 今天599？ | 虚假宣传 | 骗人
        | 骗子主播 | 说好的459呢 | 涨价了？？？坑人 | 割韭菜 | 先涨后降的套路 | 举报了
        | 昨天买的459 今天599 什么意思 | 临时涨价太过分了 | 这就是你说的秒杀价？
        | 秒杀价比昨天还贵 | 欺骗消费者 | 已举报虚假宣传 | 取关了 | 不买了 坑
        | 预告459 上架599 骗谁呢 | 又是套路 | 把人当傻子 | 涨价还叫秒杀？ | 黑心商家
        | 大家别买 昨天更便宜 | 价格欺诈 12315见 | 我昨天在别的直播间才459 | 太坑了
        | 主播解释一下为什么涨价 | 假货吧，还涨价 | 韭菜都不是这么割的 | 骗人的 走了走了
        | 说好的福利价呢
    lottery: 想要 | 想要想要 | 想要！ | 想要❤️ | 想要 求中奖 | 想要想要想要 | 想要～
        | 想要 第一次参加 | 想要 从来没中过
    goodbye: 拜拜 | 明天还来 | 主播辛苦了 晚安 | 走了走了 | 晚安 | 下次见 | 明天见
        | 主播早点休息 | 今天收获满满 | 等下次福利
    """)

EN: Final[Bank] = _bank("""
    greeting: hi everyone | hello from Toronto 👋 | hey | hii | hello! | evening all
        | hi from the UK | hello from Singapore | good morning from LA | hey guys | hi host
        | hello hello
    first_time: first time here | first time watching | new here, what are you selling?
        | just found this stream | came from tiktok lol | hi, new follower
        | first time on douyin haha
    compliment: so pretty | love it | she looks great | nice quality | cute!!
        | that looks expensive | omg i love it
    compliment_bag: beautiful bag | that color is gorgeous | love the caramel one
        | looks so classy | the black one is so chic
    compliment_jacket: love this jacket | looks so warm | the cream color is perfect
        | that puffer is adorable | the blue one is so pretty
    hype: lol | haha | lmao | let's gooo | i want it | need this | omg | so fast | yesss | wow
    purchase: just ordered! | bought one 🙌 | ordered 2, one for my sister | done, paid
        | got it!! | finally got one
    purchase_bag: got the black one | ordered the caramel
    purchase_jacket: ordered M | got the cream one in L
    q_price: price pls | how much? | price? | how much is it | how much in USD | whats the price
        | how much is that | cost? | how much with shipping | what's the price now
        | how much in dollars | how much is this one | price?? | hm how much
        | whats the cost in euro
    q_price_bag: how mcuh is the bag | is 399 yuan the final price | how much is the tote
    q_price_jacket: how much is the jacket | price of the puffer?
    q_discount: any discount code? | any coupon | is there a discount for 2
        | first order discount? | will it go cheaper later? | promo code pls | any deals today
    q_link: link? | where is the link | link pls | how do i buy | can't find the link
        | where do I order from outside China
    q_link_bag: which link is the bag
    q_link_jacket: which link is the jacket
    q_shipping: ship to Canada? | do you ship to the US | international shipping?
        | how long to UK | shipping to Australia? | do you ship overseas
        | how long does delivery take | shipping cost to Germany? | can you ship to Singapore
        | ship worldwide? | is shipping free | deliver to Malaysia? | do u ship to NZ
        | how much is shipping to the US | do I get a tracking number?
    q_size_bag: how big is it | dimensions? | will a laptop fit | does an ipad fit
        | is the strap adjustable | can it go crossbody | is there a smaller size
        | how big in inches
    q_size_jacket: is it true to size | does it run small? | size chart?
        | i'm 5'6 and 130 lbs, which size | runs big or small | do you have XXL
        | what size is the model wearing | is it an oversized fit | sizes in US?
        | M or L for {h}cm {kg}kg | is there {size}? | are the sleeves long, i have long arms
        | what's the length
    q_material_bag: is this real leather? | genuine leather? | is it PU | what kind of leather
        | is it cowhide | real or fake leather | does the color rub off | is it authentic
        | what is the lining made of | is it 真皮?
    q_material_jacket: what's the down fill | duck or goose down? | how much down in it
        | does it leak feathers | is it real down | is the shell waterproof | fill power?
    q_stock: sold out already? | still in stock? | any black left | will you restock
        | out of stock?? | any left? | it says sold out | is the black one gone? | restock when?
    q_stock_bag: is the caramel one still available
    q_stock_jacket: is M still available | any L left?
    q_returns: can I return it | return policy? | what if it doesn't fit
        | can i exchange the size | refund if damaged? | returns from abroad possible?
        | warranty? | do you accept returns | can i send it back if i don't like it
        | how do returns work from Canada
    q_payment: can I pay with PayPal | do you take visa | paypal? | payment failed
        | can i pay by card from abroad | cash on delivery? | is it safe to pay here
        | apple pay? | do you accept mastercard | can I pay in installments
        | payment keeps failing
    q_usage_bag: how do I clean it | is it ok in the rain | good for work? | can men use it
        | does it scratch easily | will the leather soften over time
    q_usage_jacket: machine washable? | warm enough for -20? | good for Canadian winter?
        | how do I wash it | is the hood removable | too warm for London?
        | can I wear it in the snow | ok for skiing?
    host_interaction: can you show the back | how tall are you | zoom in pls
        | show the black one again | say hi to Canada! | can you speak English?
        | can you turn around | show it in daylight pls
    host_interaction_bag: show the inside pls | can you open it
    host_interaction_jacket: can you try it on | what size are you wearing
    complaint: lagging | stream is lagging | no sound? | why no one answers
        | asked 3 times already | can't hear | screen froze
    distrust_base: is this legit? | is this a scam? | these comments look like bots
        | too cheap to be real leather | i don't trust these live sales
        | hmm sounds too good to be true | probably fake | 'original price 699' lol sure
        | are these reviews real | is this even the official store | looks like a knockoff
    distrust_price: scam, it was cheaper yesterday | wait it was 459 yesterday??
        | price went UP? lol | this is a scam | false advertising | you said 459 a minute ago
        | fake flash sale | ripoff | so the 'sale' is more expensive than yesterday?
        | bait and switch | what a scam | don't buy, it was 459 yesterday | reported
        | lying about the price | unfollowing, this is shady | why did the price go up??
        | classic raise then 'discount' trick | shady af
    lottery: want! | want want | pick me 🙏
    goodbye: bye! | thanks, good night | see you tomorrow | bye from Canada
        | thanks for answering | gotta go | good night everyone
    """)

RU: Final[Bank] = _bank("""
    greeting: привет всем | всем привет из Алматы | здравствуйте | приветики | добрый вечер
        | привет из Новосибирска | хай | привет 👋 | всем доброго вечера | я тут
    first_time: первый раз тут | впервые на стриме | я новенькая | случайно попала
        | что продаёте? | подписалась
    compliment: очень стильно | вау, какая красота | выглядит дорого | хочу такую
        | ведущая красотка
    compliment_bag: красивая сумка | цвет шикарный | сумка огонь | классная модель
    compliment_jacket: куртка огонь | смотрится тепло | пуховик класс | белый просто идеальный
    hype: ахаха | хочу | ого | класс | ну наконец-то | офигеть | давайте | жду
    purchase: заказала! | оплатила | урвала последнюю | заказала две | купила маме
        | всё, оформила
    purchase_bag: взяла чёрную
    purchase_jacket: заказала M | взяла белый L
    q_price: сколько стоит? | цена? | скока | сколько в рублях | какая цена | цена в тенге?
        | а сколько это в долларах | цена какая сейчас | сколько стоит эта? | цену напишите
    q_price_bag: почём сумка | сколько стоит сумка
    q_price_jacket: сколько стоит пуховик? | почём куртка
    q_discount: скидка будет? | есть промокод? | а если две взять, скидка есть? | купоны есть?
        | дешевле можно?
    q_link: где ссылка | ссылку дайте | как заказать? | как купить из России | не вижу ссылку
    q_shipping: доставка в Казахстан есть? | в Россию отправляете?
        | доставка в Москву сколько идёт? | в Беларусь доставка есть | сколько стоит доставка
        | сколько дней до Новосибирска | через Cainiao? | доставка бесплатная?
        | в Киргизию доставите? | а на Алиэкспрессе есть? | в Алматы за сколько дней?
        | доставка в Ташкент есть?
    q_size_bag: какой размер сумки | ноутбук влезет? | А4 помещается? | ремень регулируется?
        | размеры скажите
    q_size_jacket: размер М есть | маломерит? | идёт в размер? | размерная сетка есть?
        | на рост {h} какой размер | у меня 48 размер, какой брать? | XXL есть?
        | большемерит или нет | какой размер на девушке
    q_material_bag: это натуральная кожа? | кожа настоящая? | экокожа или натуральная
        | какая кожа | не облезет? | это оригинал? | запах есть? | кожа или кожзам?
    q_material_jacket: какой наполнитель? | пух или синтепон? | утиный или гусиный пух
        | пух лезет? | сколько пуха | непромокаемая?
    q_stock: ещё есть? | всё раскупили? | чёрная осталась? | когда будет снова
        | пишет нет в наличии | закончилась уже?
    q_stock_jacket: M ещё есть? | L остался? | а S осталась?
    q_returns: можно вернуть? | а если не подойдёт? | обмен размера возможен?
        | возврат как делать из России | гарантия есть? | если не понравится, можно вернуть?
        | возврат за чей счёт?
    q_payment: как оплатить из России? | можно картой Мир? | оплата при получении есть?
        | через PayPal можно? | оплата не проходит | Kaspi принимаете? | можно Visa?
        | рассрочка есть?
    q_usage_bag: как ухаживать за кожей | под дождём нормально? | на работу подойдёт?
    q_usage_jacket: в стиральной машине можно стирать? | на -30 хватит? | для Сибири пойдёт?
        | как стирать пуховик | капюшон отстёгивается?
    host_interaction: покажите сзади | а какой у вас рост? | приблизьте | говорите по-русски?
        | покажите поближе
    host_interaction_bag: покажите внутри | покажите чёрную ещё раз
    host_interaction_jacket: примерьте пожалуйста | наденьте капюшон
    complaint: лагает | звука нет | почему не отвечаете | третий раз спрашиваю | тормозит
    distrust_base: это не развод? | подозрительно дёшево | наверное подделка | отзывы накручены
        | кто-нибудь заказывал? норм пришло? | сомневаюсь что натуральная
        | это официальный магазин? | фейк наверное
    distrust_price: развод | обман | вчера было дешевле! | развод чистой воды
        | вчера 459 было, сейчас 599? | цену подняли и называют акцией | обманщики
        | это мошенники | не покупайте, вчера дешевле было | ну и развод | лохотрон
        | цены накрутили | отписываюсь | обман покупателей
    lottery: хочу | хочу хочу
    goodbye: пока всем | спасибо, до завтра | спокойной ночи | всем пока | спасибо за ответы
    """)

ET: Final[Bank] = _bank("""
    greeting: tere kõigile | tere! | tervitused Tallinnast | tsau | tere õhtust | tere Tartust
    first_time: esimest korda siin | sattusin juhuslikult siia | mida te müüte?
    compliment_bag: väga ilus kott | ilus värv | näeb kallis välja
    compliment_jacket: see jope on super | nii armas | tahan seda jopet
    hype: vau | haha | lahe | jee
    purchase: tellisin! | sain ühe | tellitud
    q_price: palju maksab? | mis hind on? | hind? | kui palju see eurodes on | mis see maksab
    q_price_bag: palju kott maksab
    q_discount: kas sooduskoodi on? | kas allahindlust on? | kaks tükki odavamalt?
    q_link: kus link on? | kuidas tellida? | linki palun
    q_shipping: kas saadate Eestisse? | saadate Eestisse?
        | kui kaua saatmine Eestisse aega võtab | kas Omnivaga saab?
        | palju saatmine Tallinnasse maksab | kas saadate Euroopasse | tasuta saatmine?
    q_size_bag: kui suur see on | kas sülearvuti mahub? | mõõdud palun
    q_size_jacket: kas suurus on õige | kas jääb väikeseks? | mis suurust võtta {h} cm peale
        | kas XL on olemas | kas M size on veel?
    q_material_bag: kas see on ehtne nahk? | päris nahk või kunstnahk? | kas on originaal?
    q_material_jacket: kas on päris sulg? | mis täidis seal on
        | kas seal on hane- või pardisuled
    q_stock: kas on veel alles? | kas must on veel olemas? | otsas juba?
    q_returns: kas saab tagastada? | kui ei sobi, kas saab vahetada? | tagastamine Eestist?
    q_payment: kas saab kaardiga maksta? | PayPal sobib? | kuidas Eestist maksta
    q_usage_bag: kuidas nahka hooldada
    q_usage_jacket: kas seda saab masinas pesta? | kas Eesti talveks piisavalt soe?
    host_interaction_bag: näidake seestpoolt
    host_interaction_jacket: proovige selga palun | näidake tagant
    complaint: pilt hangub | heli pole
    distrust_base: kas see on ikka usaldusväärne? | kahtlaselt odav | tundub võlts
    distrust_price: petis | pettus! | eile oli odavam | eile oli 459, nüüd 599? | see on pettus
        | valereklaam | ärge ostke, eile oli odavam
        | hind tõsteti üles ja seda nimetatakse sooduspakkumiseks
    lottery: tahan
    goodbye: head aega | head ööd | aitäh, homseni
    """)

ES: Final[Bank] = _bank("""
    greeting: hola a todos | hola desde México | buenas | holaa | saludos desde Madrid
        | buenas noches
    first_time: primera vez aquí | soy nueva aquí | ¿qué venden?
    compliment_bag: qué bonito bolso | me encanta ese color | qué elegante
        | se ve de buena calidad
    compliment_jacket: la chaqueta está preciosa | se ve calentita
    hype: jajaja | lo quiero | wow | vamos
    purchase: ya lo compré | listo, pagado
    purchase_bag: pedí el negro
    q_price: ¿cuánto cuesta? | precio? | cuánto vale | cuanto es en dólares | precio por favor
    q_price_bag: ¿cuánto cuesta el bolso?
    q_discount: hay descuento? | algún cupón? | si compro dos hay descuento?
    q_link: dónde está el link | cómo compro?
    q_shipping: ¿envían a México? | hacen envíos a España? | envío a Argentina?
        | cuánto tarda el envío | el envío es gratis? | mandan a Chile?
    q_size_bag: qué medidas tiene | cabe una laptop?
    q_size_jacket: la talla es normal o pequeña? | ¿tienen size M? | ¿qué talla para 1,65?
        | viene grande?
    q_material_bag: ¿es cuero real? | es piel auténtica? | es cuero o sintético?
    q_material_jacket: ¿es plumón de verdad? | de pato o de ganso?
    q_stock: ¿quedan? | ya se agotó? | hay en negro todavía?
    q_returns: ¿puedo devolverlo? | y si no me queda? | tiene garantía?
    q_payment: se puede pagar con PayPal? | aceptan tarjeta? | pago contra entrega?
    q_usage_bag: cómo se limpia el cuero?
    q_usage_jacket: se puede lavar en lavadora? | sirve para mucho frío?
    host_interaction: habla español?
    host_interaction_bag: muéstrame el interior
    host_interaction_jacket: póntela por favor
    distrust_base: es confiable? | parece falso | muy barato para ser cuero
    distrust_price: estafa | ayer estaba más barato | estafa, ayer costaba 459
        | publicidad engañosa | subieron el precio y lo llaman oferta
        | no compren, es una estafa | mentirosos
    lottery: quiero!
    goodbye: adiós | buenas noches a todos | gracias, hasta mañana
    """)

DE: Final[Bank] = _bank("""
    greeting: hallo zusammen | hi aus Berlin | servus | guten Abend | moin
    first_time: bin zum ersten Mal hier | neu hier | was wird hier verkauft?
    compliment_bag: schöne Tasche | tolle Farbe | sieht edel aus
    compliment_jacket: die Jacke ist echt schön | sieht richtig warm aus
    hype: haha | will ich haben | krass
    purchase: hab bestellt | gekauft!
    purchase_bag: schwarze genommen
    q_price: wie viel kostet das? | Preis? | wie viel in Euro?
    q_price_bag: was kostet die Tasche
    q_price_jacket: was kostet die Jacke
    q_discount: gibt es einen Rabattcode? | Rabatt bei zwei Stück?
    q_link: wo ist der Link? | wie kann ich bestellen?
    q_shipping: versendet ihr nach Deutschland? | Versand nach Österreich?
        | wie lange dauert der Versand? | Versandkosten? | liefert ihr in die Schweiz
    q_size_bag: wie groß ist die Tasche | passt ein Laptop rein?
    q_size_jacket: fällt die Jacke klein aus? | ist die Größe normal? | welche Größe bei 1,75 m?
    q_material_bag: ist das echtes Leder? | Echtleder oder Kunstleder?
    q_material_jacket: echte Daunen? | Enten- oder Gänsedaunen?
    q_stock: noch verfügbar? | schon ausverkauft?
    q_returns: kann man zurückschicken? | Umtausch möglich?
    q_payment: kann man mit PayPal zahlen? | Kreditkarte geht?
    q_usage_bag: wie pflegt man das Leder
    q_usage_jacket: kann man die in der Waschmaschine waschen? | warm genug für minus 15 Grad?
    host_interaction_bag: kannst du die Innenseite zeigen?
    host_interaction_jacket: bitte mal anziehen
    distrust_base: seriös? | klingt zu gut um wahr zu sein | ist das Fake?
    distrust_price: Abzocke | gestern war es billiger | Betrug, gestern 459
        | Preis erhöht und das nennt ihr Angebot? | Fake-Angebot
        | nicht kaufen, gestern war's billiger
    goodbye: tschüss | gute Nacht | danke, bis morgen
    """)

JA: Final[Bank] = _bank("""
    greeting: こんばんは | こんばんは〜 | はじめまして | 東京から見てます | やっほー
    first_time: 初見です | 初めて来ました | 何売ってるの？
    compliment_bag: このバッグめっちゃかわいい | 色きれい | 上品ですね | 高見えする
    compliment_jacket: ダウンかわいい | あったかそう
    hype: www | ほしい | すごい | 草
    purchase: 買いました！ | ポチった
    purchase_bag: 黒買えた
    q_price: いくらですか？ | 値段は？ | 日本円でいくら？ | おいくらですか
    q_discount: クーポンありますか | 2つ買ったら安くなる？
    q_link: リンクどこ？ | どうやって買うの
    q_shipping: 日本に発送できますか？ | 日本まで何日かかる？ | 送料いくら？ | 海外発送してる？
    q_size_bag: サイズはどれくらい？ | A4入りますか | PC入る？
    q_size_jacket: サイズ感どうですか | 大きめ？小さめ？ | 160cmだと何サイズ？
    q_material_bag: 本革ですか？ | 合皮じゃないよね？ | 牛革？
    q_material_jacket: ダウン何％？ | ダックダウン？グースダウン？
    q_stock: まだありますか | もう売り切れ？ | 黒まだある？
    q_returns: 返品できますか | サイズ交換できる？
    q_payment: PayPal使えますか | クレカ使える？
    q_usage_bag: 雨の日大丈夫？
    q_usage_jacket: 洗濯機で洗えますか | 北海道の冬でもいける？
    host_interaction_bag: 中見せてください
    host_interaction_jacket: 着てみてほしい | 後ろも見たい
    distrust_base: 本当に本革？怪しい | 安すぎて怪しい | サクラ多くない？
    distrust_price: 詐欺じゃん | 昨日の方が安かった | 値上げしてセールって何
        | 昨日459だったよね？ | 嘘つき | 誇大広告
    lottery: ほしい！
    goodbye: おやすみなさい | またね | ありがとう、また来ます
    """)

KO: Final[Bank] = _bank("""
    greeting: 안녕하세요 | 안녕하세요~ 서울에서 봐요 | 하이 | 반가워요
    first_time: 처음 왔어요 | 뭐 파는 거예요?
    compliment_bag: 가방 너무 예뻐요 | 색깔 진짜 예쁘다 | 고급스러워요
    compliment_jacket: 패딩 예쁘네요 | 따뜻해 보여요
    hype: ㅋㅋㅋㅋ | 갖고 싶다 | 대박
    purchase: 샀어요! | 주문했어요
    purchase_bag: 검정 샀어요
    q_price: 얼마예요? | 가격이 얼마예요 | 가격? | 한국 돈으로 얼마예요
    q_discount: 할인 쿠폰 있어요? | 두 개 사면 할인돼요?
    q_link: 링크 어디 있어요? | 어떻게 사요?
    q_shipping: 한국으로 배송돼요? | 한국까지 며칠 걸려요? | 배송비 얼마예요? | 해외배송 되나요
    q_size_bag: 크기가 어떻게 돼요? | 노트북 들어가요?
    q_size_jacket: 정사이즈예요? | 크게 나왔어요? | 165cm면 무슨 사이즈요? | 사이즈 M 있어요?
    q_material_bag: 진짜 가죽이에요? | 소가죽인가요? | 합성가죽 아니에요?
    q_material_jacket: 오리털이에요 거위털이에요? | 털 빠져요?
    q_stock: 아직 있어요? | 품절이에요? | 검정 남았어요?
    q_returns: 반품 돼요? | 교환 가능해요?
    q_payment: 카드 결제 돼요? | 페이팔 돼요?
    q_usage_jacket: 세탁기 돌려도 돼요? | 한겨울에도 따뜻해요?
    host_interaction_bag: 안쪽 보여주세요
    host_interaction_jacket: 입어 봐 주세요
    distrust_base: 믿어도 돼요? | 너무 싸서 의심스러워요
    distrust_price: 사기 아니야? | 어제 더 쌌는데 | 가격 올려놓고 특가래 | 사기네 | 허위광고
        | 어제 459였잖아요
    goodbye: 안녕히 주무세요 | 다음에 또 올게요
    """)

VI: Final[Bank] = _bank("""
    greeting: chào mọi người | xin chào | chào chị | hello cả nhà | chào từ Hà Nội
    first_time: lần đầu vào live | mới vào, bán gì vậy?
    compliment_bag: túi đẹp quá | màu đẹp ghê | nhìn sang quá
    compliment_jacket: áo phao xinh quá | nhìn ấm ghê
    hype: hihi | muốn mua quá | đẹp xỉu
    purchase: chốt đơn | đặt rồi nha
    purchase_bag: mình lấy màu đen
    q_price: giá bao nhiêu vậy? | bao nhiêu tiền | giá sao ạ | bn tiền | giá bao nhiêu tiền Việt
    q_discount: có mã giảm giá không | mua 2 có bớt không
    q_link: link đâu ạ | mua ở đâu vậy
    q_shipping: có ship về Việt Nam không? | ship VN bao lâu | phí ship bao nhiêu
    q_size_bag: túi kích thước bao nhiêu | đựng vừa laptop không
    q_size_jacket: size M có không | form rộng hay ôm? | cao 1m60 mặc size gì
        | size có chuẩn không
    q_material_bag: da thật không ạ? | da bò thật hả | có phải da PU không
    q_material_jacket: lông vịt hay lông ngỗng? | có bị xù lông không
    q_stock: còn hàng không? | hết hàng rồi à | màu đen còn không
    q_returns: có đổi trả được không | không vừa có đổi size được không
    q_payment: thanh toán kiểu gì | có ship COD không | chuyển khoản được không
    q_usage_jacket: giặt máy được không | đi Hàn mùa đông mặc đủ ấm không
    host_interaction_bag: cho xem bên trong với
    host_interaction_jacket: mặc thử đi chị
    distrust_base: có uy tín không | rẻ vậy chắc hàng fake
    distrust_price: lừa đảo | hôm qua rẻ hơn mà | tăng giá rồi gọi là sale | hôm qua 459 mà
        | quảng cáo sai sự thật
    goodbye: bye mọi người | chúc ngủ ngon
    """)

TH: Final[Bank] = _bank("""
    greeting: สวัสดีค่ะ | สวัสดีครับ | หวัดดีทุกคน | มาแล้วค่ะ
    first_time: มาครั้งแรกค่ะ | เพิ่งเจอไลฟ์นี้
    compliment_bag: กระเป๋าสวยมาก | สีสวยจัง | ดูแพงมาก
    compliment_jacket: เสื้อน่ารักมาก
    hype: 5555 อยากได้ | ว้าว
    purchase: สั่งแล้วค่ะ
    q_price: ราคาเท่าไหร่คะ | กี่บาทคะ | เท่าไหร่ครับ
    q_discount: มีส่วนลดไหมคะ | มีโค้ดไหม
    q_link: ลิงก์อยู่ไหนคะ
    q_shipping: ส่งไทยไหมคะ | ส่งมาไทยกี่วัน | ค่าส่งเท่าไหร่
    q_size_bag: ใส่โน้ตบุ๊กได้ไหม | ขนาดเท่าไหร่คะ
    q_size_jacket: ไซซ์ตรงไหมคะ | สูง 160 ใส่ไซซ์อะไร
    q_material_bag: หนังแท้ไหมคะ | หนังวัวแท้รึเปล่า
    q_material_jacket: ขนเป็ดหรือขนห่าน
    q_stock: ยังมีของไหมคะ | หมดแล้วเหรอ
    q_returns: คืนได้ไหมคะ | เปลี่ยนไซซ์ได้ไหม
    q_payment: จ่ายด้วยบัตรได้ไหม | เก็บเงินปลายทางได้ไหม
    q_usage_jacket: ซักเครื่องได้ไหมคะ | ไปญี่ปุ่นหน้าหนาวใส่ไหวไหม
    host_interaction_bag: ขอดูด้านในหน่อยค่ะ
    host_interaction_jacket: ลองใส่ให้ดูหน่อย
    distrust_base: ของแท้ไหมเนี่ย | ถูกจนน่าสงสัย
    distrust_price: หลอกลวง | เมื่อวานถูกกว่านี้ | ขึ้นราคาแล้วบอกว่าลด | โกงชัดๆ
    goodbye: บ๊ายบายค่ะ | ฝันดีค่ะ
    """)

PT: Final[Bank] = _bank("""
    greeting: oi gente | olá do Brasil | boa noite | oii
    first_time: primeira vez aqui | o que vocês vendem?
    compliment_bag: que bolsa linda | amei essa cor | parece muito chique
    compliment_jacket: a jaqueta é linda
    hype: kkkkk | quero | que lindo
    purchase: comprei!
    purchase_bag: pedi a preta
    q_price: quanto custa? | qual o preço? | preço? | quanto é em reais
    q_discount: tem cupom? | tem desconto comprando duas?
    q_link: cadê o link? | como compro?
    q_shipping: envia pro Brasil? | entrega em Portugal? | quanto tempo demora o frete?
        | frete grátis?
    q_size_bag: qual o tamanho da bolsa | cabe notebook?
    q_size_jacket: o tamanho é normal? | veste grande ou pequeno? | tem GG?
    q_material_bag: é couro legítimo? | é couro de verdade?
    q_material_jacket: é pena de ganso? | solta pena?
    q_stock: ainda tem? | esgotou?
    q_returns: posso devolver? | dá pra trocar o tamanho?
    q_payment: aceita cartão? | dá pra pagar com PayPal?
    q_usage_jacket: pode lavar na máquina? | é quente pra neve?
    host_interaction_bag: mostra por dentro
    host_interaction_jacket: veste pra gente ver
    distrust_base: é confiável? | barato demais, deve ser falso
    distrust_price: golpe | ontem tava mais barato | isso é golpe
        | aumentaram o preço e chamam de promoção | propaganda enganosa
    goodbye: tchau gente | boa noite a todos
    """)

ID: Final[Bank] = _bank("""
    greeting: halo semua | hai kak | salam dari Jakarta | selamat malam
    first_time: baru pertama kali nonton | jual apa ini kak?
    compliment_bag: tasnya cantik banget | warnanya bagus | kelihatan mewah
    compliment_jacket: jaketnya lucu
    hype: wkwkwk | mau dong | keren
    purchase: udah checkout
    purchase_bag: aku ambil yang hitam
    q_price: berapa harganya kak? | harga? | brp kak | berapa rupiah
    q_discount: ada voucher gak? | beli 2 ada diskon?
    q_link: linknya mana kak | cara belinya gimana
    q_shipping: bisa kirim ke Indonesia? | ongkir ke Jakarta berapa
        | berapa lama sampai Indonesia
    q_size_bag: muat laptop gak? | ukurannya berapa kak
    q_size_jacket: ukurannya pas gak kak | tinggi 160 pakai size apa
    q_material_bag: kulit asli kak? | ini kulit sapi asli? | kak ini real leather?
    q_material_jacket: isinya bulu angsa atau bebek?
    q_stock: masih ada kak? | udah habis ya?
    q_returns: bisa retur gak? | bisa tukar size?
    q_payment: bisa COD? | bisa bayar pakai kartu kredit?
    q_usage_jacket: bisa dicuci mesin? | cukup hangat buat ke Korea pas musim dingin?
    host_interaction_bag: kak lihat dalamnya dong
    host_interaction_jacket: coba dipakai kak
    distrust_base: amanah gak nih? | murah banget, jangan-jangan palsu
    distrust_price: penipuan | kemarin lebih murah | harga dinaikin terus bilang diskon
        | nipu banget
    goodbye: dadah semua | selamat malam kak
    """)

BANKS: Final[Mapping[str, Bank]] = {
    "zh": ZH,
    "en": EN,
    "ru": RU,
    "et": ET,
    "es": ES,
    "de": DE,
    "ja": JA,
    "ko": KO,
    "vi": VI,
    "th": TH,
    "pt": PT,
    "id": ID,
}

NEUTRAL: Final = _split("""
    666 | 6666 | 666666 | +1 | +1+1 | 1 | 111 | ❤️❤️ | ❤️❤️❤️ | ❤️ | 👍 | 👍👍👍 | 🔥🔥🔥 | 😍😍
    | 👏👏 | 🌹🌹 | 💃💃💃 | ?? | ？？？ | 🤣🤣🤣 | 😂😂 | 🙏 | 💯 | ✨✨✨ | 👀 | 🥰 | 😭😭
    | 🤩 | 💕💕 | 🎉🎉
    """)
"""Texts with no language: numbers, marks and emoji (written without ``lang``)."""

LANG_WEIGHTS: Final[Mapping[str, float]] = {
    "zh": 61.0,
    "en": 12.0,
    "ru": 10.0,
    "et": 3.5,
    "es": 2.5,
    "de": 2.0,
    "ja": 2.0,
    "ko": 2.0,
    "vi": 1.5,
    "th": 1.2,
    "pt": 1.2,
    "id": 1.1,
}
"""Share of viewer messages by language of the writer."""

BASE_INTENT_WEIGHTS: Final[Mapping[str, float]] = {
    "greeting": 3.0,
    "first_time": 1.2,
    "compliment": 6.0,
    "hype": 7.0,
    "neutral": 7.0,
    "purchase": 2.0,
    "q_price": 5.0,
    "q_discount": 2.5,
    "q_link": 2.5,
    "q_shipping": 3.5,
    "q_size": 4.5,
    "q_material": 4.0,
    "q_stock": 2.0,
    "q_returns": 2.0,
    "q_payment": 1.5,
    "q_usage": 2.5,
    "host_interaction": 3.5,
    "complaint": 1.2,
    "distrust_base": 1.0,
    "distrust_price": 0.0,
    "lottery": 0.0,
    "goodbye": 0.2,
}
"""How often each intent occurs in an ordinary stretch; announcements add to these."""

FOREIGN_INTENT_FACTORS: Final[Mapping[str, float]] = {
    "q_shipping": 3.0,
    "q_payment": 2.0,
    "q_link": 1.5,
    "q_returns": 1.3,
    "first_time": 2.0,
    "greeting": 1.5,
    "hype": 0.5,
    "neutral": 0.3,
    "purchase": 0.5,
    "lottery": 0.3,
}
"""Viewers abroad ask more about shipping and paying and cheer less."""

LINGERING_DISTRUST: Final = 1.5
"""Weight of ``distrust_price`` after the surge has died down (some never forgive)."""


@dataclass(frozen=True, slots=True)
class Beat:
    """A scripted message (host, moderator) and how it moves the chat right after it."""

    at_s: float
    role: Role
    lang: str
    text: str
    rate_boost: float = 0.0
    """Extra viewer messages per second at the peak of the reaction."""
    tau_s: float = 30.0
    """How fast the reaction decays after the plateau (seconds)."""
    plateau_s: float = 0.0
    """How long the reaction stays at its peak before decaying (seconds)."""
    boosts: Mapping[str, float] = field(default_factory=dict)
    """Intent weights added at the peak of the reaction."""
    intent: str = "announce"


_H = Role.HOST
_M = Role.MODERATOR

SCRIPT: Final[tuple[Beat, ...]] = (
    Beat(
        5,
        _H,
        "zh",
        "欢迎来到LUMI轻奢官方旗舰店直播间！今晚福利多多，点点关注不迷路～",
        rate_boost=0.6,
        tau_s=60,
        boosts={"greeting": 20.0, "first_time": 4.0},
    ),
    Beat(30, _M, "zh", "欢迎宝宝们来到直播间，有问题打在公屏上，主播会一一解答～"),
    Beat(
        45,
        _H,
        "zh",
        "今天第一个宝贝：头层牛皮托特包，焦糖色/黑色/米白三个颜色，原价699，今晚直播间价399！",
        rate_boost=0.8,
        tau_s=40,
        boosts={"q_price": 5.0, "q_material": 6.0, "compliment": 5.0},
    ),
    Beat(
        70,
        _H,
        "en",
        "Hi to our friends abroad! Tonight: a genuine leather tote, then a "
        "goose-down jacket. We ship internationally 🌍",
        rate_boost=0.3,
        tau_s=40,
        boosts={"q_shipping": 6.0, "greeting": 4.0},
    ),
    Beat(
        FIRST_LINK_S,
        _H,
        "zh",
        "1号链接已上架！直播间专属价399，库存300个，3、2、1，上链接！",
        rate_boost=1.6,
        tau_s=40,
        boosts={"purchase": 15.0, "q_link": 8.0, "q_stock": 4.0, "hype": 8.0},
    ),
    Beat(160, _M, "zh", "1号链接是包包，点击左下角小黄车购买"),
    Beat(230, _M, "zh", "请勿刷屏，刷屏会被禁言哦"),
    Beat(
        270,
        _H,
        "zh",
        "福利来了！关注主播领30元无门槛券，包包到手369！",
        rate_boost=1.2,
        tau_s=35,
        boosts={"q_discount": 8.0, "purchase": 10.0, "hype": 5.0},
    ),
    Beat(
        300,
        _M,
        "en",
        "For international buyers: tap the cart icon, link #1 is the bag. "
        "Shipping fee is shown at checkout.",
    ),
    Beat(
        360,
        _H,
        "zh",
        "给大家看看细节：内里是麂皮绒，五金是纯铜，能装iPad mini",
        rate_boost=0.3,
        tau_s=30,
        boosts={"q_size": 4.0, "q_material": 3.0},
    ),
    Beat(
        450,
        _H,
        "zh",
        "黑色已经抢光了！仓库正在补货，焦糖色还有少量",
        rate_boost=1.0,
        tau_s=40,
        boosts={"q_stock": 15.0, "complaint": 3.0},
    ),
    Beat(460, _M, "zh", "黑色补货中，请稍等"),
    Beat(
        500,
        _H,
        "zh",
        "黑色补了50个，大家刷新1号链接！",
        rate_boost=0.6,
        tau_s=30,
        boosts={"purchase": 8.0, "q_stock": 4.0},
    ),
    Beat(
        JACKET_PREVIEW_S,
        _H,
        "zh",
        "包包最后一轮！接下来是羽绒服，等下羽绒服秒杀价459，大家先加购物车",
        rate_boost=0.6,
        tau_s=30,
        boosts={"q_price": 4.0, "hype": 6.0},
    ),
    Beat(
        570,
        _H,
        "zh",
        "羽绒服来了：新款90白鹅绒面包服，S到XXL，米白、黑、雾霾蓝三个颜色",
        rate_boost=0.8,
        tau_s=30,
        boosts={"q_size": 8.0, "q_material": 6.0, "compliment": 6.0},
    ),
    Beat(
        PRICE_CHANGE_S,
        _H,
        "zh",
        "2号链接上架！羽绒服今日秒杀价599！库存只有200件，手慢无！",
        rate_boost=1.6,
        tau_s=40,
        plateau_s=105,
        boosts={"distrust_price": 30.0, "q_price": 6.0, "complaint": 2.0},
        intent="price_change",
    ),
    Beat(630, _M, "zh", "请大家文明发言，价格问题主播马上给大家解释"),
    Beat(645, _H, "zh", "599已经是全网最低价了，新款成本高，喜欢的宝宝抓紧拍", intent="defend"),
    Beat(660, _M, "en", "Please keep the chat civil, the host will explain the price shortly 🙏"),
    Beat(675, _M, "ru", "Пожалуйста, без оскорблений, ведущая сейчас всё объяснит"),
    Beat(
        EXPLANATION_S,
        _H,
        "zh",
        "大家听我说：昨天459的是去年老款80鸭绒，今天是新款90鹅绒，不是涨价。"
        "为了表示诚意，再给大家发60元券，到手539！",
        rate_boost=0.8,
        tau_s=40,
        boosts={"purchase": 6.0, "distrust_price": 8.0, "q_discount": 5.0},
        intent="explain",
    ),
    Beat(
        708,
        _H,
        "en",
        "Sorry for the confusion: yesterday's ¥459 was last year's duck-down "
        "model. Today's is the new goose-down one. Extra ¥60 coupon now, so ¥539.",
        intent="explain",
    ),
    Beat(
        714,
        _H,
        "ru",
        "Друзья, вчера за 459 была прошлогодняя модель на утином пуху. Сегодня "
        "новая, на гусином. Дарим купон 60 юаней, итого 539.",
        intent="explain",
    ),
    Beat(750, _M, "zh", "60元券已发放，在小黄车上方领取"),
    Beat(
        780,
        _H,
        "zh",
        "尺码给大家说一下：标准码，160/100斤S，165/110斤M，170/125斤L，喜欢宽松的拍大一码",
        rate_boost=0.5,
        tau_s=30,
        boosts={"q_size": 6.0, "purchase": 4.0},
    ),
    Beat(
        870,
        _H,
        "zh",
        "2号链接只剩最后50件了！",
        rate_boost=1.2,
        tau_s=40,
        boosts={"purchase": 10.0, "q_stock": 6.0},
    ),
    Beat(900, _M, "zh", "关注主播，点亮粉丝灯牌，领取专属券"),
    Beat(
        945,
        _H,
        "zh",
        "抽奖开始！公屏扣“想要”，抽3位宝宝送包包！",
        rate_boost=2.0,
        tau_s=30,
        plateau_s=10,
        boosts={"lottery": 40.0},
    ),
    Beat(
        990,
        _H,
        "zh",
        "恭喜 {w1}、{w2}、{w3} 中奖！请私信客服领奖",
        rate_boost=0.4,
        tau_s=20,
        boosts={"hype": 6.0},
        intent="winners",
    ),
    Beat(1005, _M, "zh", "抽奖结果已公布，请中奖宝宝私信客服"),
    Beat(
        1025,
        _H,
        "zh",
        "今天就到这里，谢谢大家，明晚8点不见不散！",
        rate_boost=0.8,
        tau_s=30,
        boosts={"goodbye": 30.0},
    ),
    Beat(1037, _H, "en", "Thank you all, see you tomorrow! 👋", intent="announce"),
)
"""The broadcast's script: what the host and the moderator say when, and the reaction."""

ANSWERS: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "price_bag": {
        "zh": (
            "包包直播间价399，原价699，今天拍还送保养油",
            "1号链接，399到手，领了券再减30",
            "399，专柜同款，今晚直播间专属价",
        ),
        "en": (
            "the tote is ¥399 tonight (usually ¥699), link #1 in the cart",
            "¥399, about $55, and the follower coupon takes another ¥30 off",
        ),
        "ru": ("сумка сегодня 399 юаней вместо 699, ссылка №1", "399 юаней, с купоном 369"),
    },
    "price_jacket_preview": {
        "zh": ("羽绒服马上开秒杀，先加购物车", "等下2号链接，先别走开"),
        "en": ("the jacket goes live in a minute, link #2",),
        "ru": ("пуховик через минуту, ссылка №2",),
    },
    "price_jacket": {
        "zh": ("新款90鹅绒，599到手", "2号链接599，库存不多了"),
        "en": ("the jacket is ¥599, link #2",),
        "ru": ("пуховик 599 юаней, ссылка №2",),
    },
    "price_jacket_coupon": {
        "zh": ("599领60元券，到手539", "领券后539，券在小黄车上方"),
        "en": ("¥599 minus the ¥60 coupon, so ¥539",),
        "ru": ("599 минус купон 60, итого 539 юаней",),
    },
    "discount": {
        "zh": ("关注主播就能领券，在小黄车上方", "买两件再减50，券可以叠加"),
        "en": ("follow the shop to get the coupon, it stacks with the live price",),
        "ru": ("подпишитесь на магазин — будет купон",),
    },
    "link": {
        "zh": ("点左下角小黄车，1号是包包，2号是羽绒服", "小黄车里就有，刷新一下"),
        "en": ("tap the cart icon bottom left: #1 is the bag, #2 the jacket",),
        "ru": ("корзинка слева внизу: №1 сумка, №2 пуховик",),
    },
    "shipping": {
        "zh": (
            "全国包邮，新疆西藏加10元，48小时内发货",
            "顺丰包邮，偏远地区也能发，5到7天到",
            "海外也能寄，走菜鸟国际，运费结算时显示",
        ),
        "en": (
            "yes, we ship internationally via Cainiao, 10-20 days, fee shown at checkout",
            "we ship to Canada, the US, UK, EU and SE Asia, about 2-3 weeks",
        ),
        "ru": (
            "да, в Казахстан и Россию доставляем, 7-15 дней",
            "отправляем через Cainiao, стоимость доставки видна при оформлении",
        ),
    },
    "size_bag": {
        "zh": ("长28宽12高20厘米，能放iPad mini，放不下13寸电脑", "肩带可调节，能单肩也能斜挎"),
        "en": (
            "28 x 20 x 12 cm, fits an iPad mini but not a 13-inch laptop",
            "the strap is adjustable, shoulder or crossbody",
        ),
        "ru": ("28×20×12 см, iPad mini влезет, ноутбук 13 дюймов нет",),
    },
    "size_jacket": {
        "zh": (
            "标准码，165/110斤穿M，喜欢宽松的拍大一码",
            "S到XXL都有，主播165穿M",
            "偏宽松版型，里面穿毛衣也不紧",
        ),
        "en": (
            "true to size: 165 cm / 55 kg takes M, size up for a looser fit",
            "S to XXL; I'm 165 cm and wearing M",
        ),
        "ru": ("размер стандартный: на 165 см и 55 кг — M", "есть S–XXL, крой свободный"),
    },
    "material_bag": {
        "zh": ("头层牛皮，有皮料检测报告，假一赔十", "内里是麂皮绒，五金是纯铜的，不掉色"),
        "en": (
            "genuine top-grain cowhide, the lab report is on the product page",
            "real leather, copper hardware, suede lining",
        ),
        "ru": ("натуральная воловья кожа, есть сертификат",),
    },
    "material_jacket": {
        "zh": ("90%白鹅绒，充绒量220克，有检测报告和吊牌", "防钻绒面料，不跑毛"),
        "en": ("90% white goose down, 220 g fill, test report included",),
        "ru": ("90% белого гусиного пуха, 220 г, пух не лезет",),
    },
    "stock_bag": {
        "zh": ("黑色补了50个，刷新1号链接", "焦糖色还有，米白快没了"),
        "en": ("black is restocked, refresh link #1",),
        "ru": ("чёрную докинули, обновите ссылку",),
    },
    "stock_jacket": {
        "zh": ("M码和L码还有，S码在补", "2号链接还有货，手慢无"),
        "en": ("M and L are still in stock",),
        "ru": ("M и L ещё есть",),
    },
    "returns": {
        "zh": ("支持7天无理由退换，还送运费险", "不合适可以换码，来回运费我们出"),
        "en": ("7-day returns, no questions asked; from abroad the return postage is yours",),
        "ru": ("возврат в течение 7 дней без объяснения причин",),
    },
    "payment": {
        "zh": ("支持花呗3期免息，信用卡也可以", "可以先用后付，支付宝微信都行"),
        "en": ("Visa, Mastercard and PayPal all work at checkout",),
        "ru": ("можно картой Visa или Mastercard, Мир пока нет",),
    },
    "usage_bag": {
        "zh": ("真皮别泡水，淋了雨用干布擦干就行，送保养油", "通勤约会都很搭"),
        "en": ("avoid heavy rain, wipe it dry; we include leather care oil",),
        "ru": ("под ливень не стоит, протрите сухой тканью",),
    },
    "usage_jacket": {
        "zh": ("可以手洗，不建议机洗甩干，零下25度没问题", "东北穿完全够，里面一件毛衣就行"),
        "en": ("hand wash or dry clean; fine down to about -25°C",),
        "ru": ("стирать вручную или в химчистке, до -25 нормально",),
    },
    "host_bag": {
        "zh": (
            "好嘞，马上打开给大家看里面",
            "稍等，马上转过来给大家看",
            "好的，镜头拉近给大家看细节",
        ),
        "en": ("sure, showing it now!", "ok, opening it for you"),
        "ru": ("конечно, сейчас покажу",),
    },
    "host_jacket": {
        "zh": ("主播身高165，穿的M码", "好嘞，马上穿上给大家看", "稍等，转过来给大家看背面"),
        "en": ("I'm 165 cm, wearing M", "sure, trying it on now!"),
        "ru": ("мой рост 165, на мне M",),
    },
    "distrust_defend": {
        "zh": ("599已经是全网最低了，新款成本高", "没有骗人哈，价格是品牌方定的"),
        "en": ("¥599 is already the lowest price online",),
        "ru": ("599 — это самая низкая цена",),
    },
    "distrust_explain": {
        "zh": (
            "不是骗人哈，昨天459的是去年老款80鸭绒，今天是新款90鹅绒，再送60元券",
            "理解大家，已经申请了60元券，叠加后539到手",
        ),
        "en": (
            "not a scam: yesterday's ¥459 was last year's duck-down model, today's is the new "
            "goose-down one, plus a ¥60 coupon",
        ),
        "ru": (
            "это не обман: вчера за 459 была прошлогодняя модель на утином пуху, сегодня новая,"
            " плюс купон 60 юаней",
        ),
    },
    "distrust_auth": {
        "zh": ("我们是品牌官方旗舰店，都有检测报告，放心拍", "支持验货，假一赔十"),
        "en": ("we're the brand's official store, lab reports on the product page",),
        "ru": ("это официальный магазин бренда, есть сертификаты",),
    },
}
"""What the host replies, by answer key and language (``@name`` is prefixed)."""

REASK_PREFIXES: Final[Mapping[str, tuple[str, ...]]] = {
    "zh": ("主播，", "问一下，", "再问一遍 ", "回答一下呀 ", "有人吗 ", "主播看看我 ", "？？"),
    "en": ("again: ", "hello?? ", "anyone? ", "@host ", "pls answer: "),
    "ru": ("ещё раз: ", "ау, ", "ответьте пж, "),
    "et": ("uuesti: ",),
    "es": ("otra vez: ", "hola?? "),
    "de": ("nochmal: ",),
}
"""How a viewer who got no answer starts the same question again."""

QUESTION_EMOJI: Final = ("🤔", "🙏", "😅", "👀", "🥺")
POSITIVE_EMOJI: Final = ("😍", "❤️", "🥰", "✨", "👍", "🔥", "💕")
NEGATIVE_EMOJI: Final = ("😡", "🙄", "🤡", "👎", "😤", "💢")
LATIN_LANGS: Final = ("en", "es", "de", "pt", "id", "et", "vi")
FULLWIDTH_LANGS: Final = ("zh", "ja")
TYPO_LANGS: Final = ("en", "es", "de", "pt", "id", "et", "ru")
"""Languages typed letter by letter, where swapped letters are the usual typo."""

# --------------------------------------------------------------------------------------------
# Names of viewers
# --------------------------------------------------------------------------------------------

ZH_NAMES: Final = _split("""
    小鱼儿 | momo | 晴天☀️ | 木子李 | 阿紫 | 橙子味的夏天 | 一只小胖猪 | 糖糖 | Lily莉莉
    | 陈小姐 | 王姐 | 北京大妞 | 上海阿姨 | 小葵花 | 奶茶续命 | 今天也要加油鸭 | 柠檬精本精
    | 大白兔 | 深夜食堂 | 甜甜圈 | 芒果布丁 | 秋天的第一杯奶茶 | 花花 | 阿May | 七七 | 小熊软糖
    | 懒羊羊 | 追光的人 | 半夏 | 浅浅 | 小雪 | 安静的美男子 | 李姐 | 隔壁老王 | 快乐小狗 | 云朵
    | 南风知我意 | 星星点灯 | 不想上班 | 减肥失败的胖子 | Coco | Vivian | 佳佳 | 贝贝妈
    | 豆豆妈妈 | 宝妈一枚 | 果果 | 小米粒 | 阿杰 | 老刘 | 刘大哥 | 东北小花 | 杭州小雨
    | 成都胖妹 | 重庆辣妹子 | 广东靓仔 | 湖南妹砣 | 乌鲁木齐的风 | 新疆姑娘 | 喀什小羊
    | 内蒙古草原 | 海南椰子 | 西藏阳光 | 哈尔滨冰糖 | 沈阳老铁 | 大连海鲜 | 苏州小桥
    | 厦门鼓浪屿 | 兰州拉面 | 嘉嘉 | 芋圆 | 布丁 | Anna安娜 | Yuki雪 | Tina | 一颗柠檬
    | 月亮不睡我不睡 | 草莓味 | 西瓜太郎 | 猫咪老师 | 温柔的风 | 吃土少女 | 剁手党 | 买买买
    | 省钱小能手 | 精致穷 | 打工人 | 搬砖的小李 | 社畜一枚 | 宝藏女孩 | 仙女本仙 | 开心果
    | 抹茶控 | 蜜桃乌龙 | 桃子 | 阿狸 | 团团 | 圆圆 | 兜兜 | 乐乐 | 小鹿乱撞 | 清风徐来
    | 一路向北 | 海绵宝宝 | 派大星 | 小丸子 | 暖暖 | 晚风 | 阿宝 | 小七 | 萌萌哒 | 听雨
    | 冰糖雪梨 | 甜心 | 小太阳 | 吴阿姨 | 张姐 | 赵女士 | 周周 | 十一 | 二丫
    """)
ZH_NAME_ADJ: Final = (
    "爱吃火锅",
    "不吃香菜",
    "会飞",
    "爱睡觉",
    "喜欢下雨天",
    "在逃",
    "快乐",
    "努力搞钱",
    "爱喝奶茶",
    "失眠",
)
ZH_NAME_NOUN: Final = ("小猫", "兔子", "鱼", "公主", "小王", "橙子", "小熊", "宝宝", "阿姨", "狐狸")

EN_FIRST: Final = (
    "Emily",
    "Jessica",
    "Sarah",
    "Ashley",
    "Megan",
    "Olivia",
    "Chloe",
    "Hannah",
    "Grace",
    "Lauren",
    "Rachel",
    "Amanda",
    "Kayla",
    "Sophie",
    "Emma",
    "Mia",
    "Zoe",
    "Nina",
    "Kate",
    "Laura",
    "Michelle",
    "Tiffany",
    "Jenny",
    "Mike",
    "Chris",
    "David",
    "James",
    "Ryan",
    "Kevin",
    "Jason",
    "Daniel",
    "Tom",
    "Alex",
    "Sam",
    "Priya",
    "Aisha",
    "Mei",
    "Jasmine",
    "Tyler",
    "Brandon",
    "Hailey",
    "Brooke",
)
EN_LAST: Final = (
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Lee",
    "Nguyen",
    "Chen",
    "Patel",
    "Miller",
    "Davis",
    "Clark",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Kelly",
    "Murphy",
    "Wong",
)
RU_WOMEN: Final = (
    ("Анна", "anna"),
    ("Мария", "masha"),
    ("Елена", "lena"),
    ("Ольга", "olya"),
    ("Наталья", "natasha"),
    ("Ирина", "ira"),
    ("Татьяна", "tanya"),
    ("Светлана", "sveta"),
    ("Екатерина", "katya"),
    ("Юлия", "yulia"),
    ("Дарья", "dasha"),
    ("Алина", "alina"),
    ("Ксения", "ksu"),
    ("Виктория", "vika"),
    ("Полина", "polina"),
    ("Марина", "marina"),
    ("Оксана", "oksana"),
    ("Галина", "galina"),
    ("Айгерим", "aigerim"),
    ("Динара", "dinara"),
    ("Асель", "asel"),
    ("Жанар", "zhanar"),
    ("Людмила", "luda"),
    ("Валентина", "valya"),
    ("Кристина", "kristi"),
    ("Алёна", "alyona"),
    ("Вероника", "nika"),
    ("Софья", "sonya"),
    ("Мадина", "madina"),
    ("Гульнара", "gulya"),
    ("Ангелина", "geli"),
)
RU_MEN: Final = (
    ("Сергей", "sergey"),
    ("Андрей", "andrey"),
    ("Дмитрий", "dima"),
    ("Алексей", "lesha"),
    ("Иван", "vanya"),
    ("Ержан", "yerzhan"),
    ("Артём", "artem"),
    ("Никита", "nikita"),
    ("Данияр", "daniyar"),
)
RU_INITIALS: Final = "АБВГДЕЖЗИКЛМНОПРСТУФХЧШЮЯ"
ET_FIRST: Final = (
    "Kadri",
    "Liis",
    "Maarja",
    "Kristiina",
    "Triin",
    "Kertu",
    "Mari",
    "Anu",
    "Helen",
    "Kätlin",
    "Piret",
    "Merike",
    "Eve",
    "Signe",
    "Mart",
    "Tõnu",
    "Rasmus",
    "Karl",
    "Jaan",
    "Andres",
    "Liisu",
    "Grete",
)
ET_LAST: Final = (
    "Tamm",
    "Saar",
    "Sepp",
    "Mägi",
    "Kask",
    "Kukk",
    "Rebane",
    "Ilves",
    "Pärn",
    "Koppel",
    "Laur",
    "Lepik",
)
ES_FIRST: Final = (
    "Lucía",
    "Carmen",
    "Valentina",
    "Sofía",
    "Camila",
    "Daniela",
    "Paula",
    "Andrea",
    "Gabriela",
    "Fernanda",
    "Alejandra",
    "Carlos",
    "Javier",
    "Diego",
    "Luis",
    "Vale",
)
ES_LAST: Final = (
    "García",
    "Martínez",
    "López",
    "Hernández",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Torres",
    "Ramírez",
)
DE_FIRST: Final = (
    "Jana",
    "Lena",
    "Laura",
    "Anna",
    "Lisa",
    "Julia",
    "Katharina",
    "Sabine",
    "Nicole",
    "Tobias",
    "Jonas",
    "Felix",
    "Lukas",
    "Stefan",
    "Markus",
    "Miriam",
)
DE_LAST: Final = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
)
JA_NAMES: Final = (
    "ゆい",
    "さくら🌸",
    "みゆき",
    "あやか",
    "まい",
    "なな",
    "りな",
    "ゆうこ",
    "はるか",
    "ちひろ",
    "たかし_23",
    "けんじ",
    "みほ",
    "えり",
    "あおい",
    "Yuki_tokyo",
    "miku.39",
    "佐藤あや",
    "田中みか",
    "高橋ゆり",
)
KO_NAMES: Final = (
    "지민",
    "민지짱",
    "seoyeon_k",
    "수아",
    "하은",
    "지우",
    "서윤",
    "예린",
    "유나",
    "민준",
    "도윤",
    "김지현",
    "박서연",
    "이수진",
    "hana_kim",
    "jiyoung.p",
    "소희",
    "은비",
    "다은",
    "채원",
)
VI_NAMES: Final = (
    "Ngọc Anh",
    "Trang Nguyễn",
    "Linh Phạm",
    "Hương Trần",
    "Thảo Lê",
    "Mai Hoàng",
    "Huyền Đỗ",
    "Minh Thư",
    "Phương Vy",
    "Quỳnh Như",
    "Tuấn Anh",
    "Hà Linh",
    "bé Na",
    "thuy_tien",
    "lan.nguyen",
    "Khánh Vy",
)
TH_NAMES: Final = (
    "น้องมายด์",
    "Ploy",
    "แพรวา",
    "มุก",
    "ฝน",
    "Nok_bkk",
    "แอน",
    "ปลา",
    "Mint",
    "เจนนี่",
    "ครีม",
    "บีม",
    "Fah_fah",
    "พลอยใส",
)
PT_NAMES: Final = (
    "Ana Clara",
    "joao.silva",
    "Mariana Souza",
    "Bruna",
    "Camila Ferreira",
    "Letícia",
    "Juliana_rj",
    "Rafaela",
    "Beatriz Costa",
    "Gabi",
    "Thiago",
    "Larissa M.",
    "pri_oliveira",
)
ID_NAMES: Final = (
    "Putri A.",
    "dewi_sartika",
    "Ayu Lestari",
    "Rina",
    "Nadia Putri",
    "Indah",
    "Sri Wahyuni",
    "fitri.ana",
    "Dian",
    "Wulan",
    "Rizky",
    "Mega",
    "Intan_jkt",
    "Novi",
)

VIEWERS_PER_LANG: Final[Mapping[str, int]] = {
    "zh": 380,
    "en": 80,
    "ru": 64,
    "et": 18,
    "es": 14,
    "de": 12,
    "ja": 14,
    "ko": 14,
    "vi": 12,
    "th": 10,
    "pt": 10,
    "id": 10,
}
"""How many viewers of each language are in the room at some point (not all of them type)."""


def _western_name(rng: random.Random, first: str, last: str) -> str:
    """One of the ways people write a Latin-script name in a chat."""
    lo_first = first.lower()
    lo_last = last.lower()
    pattern = rng.randrange(7)
    if pattern == 0:
        return f"{first} {last}"
    if pattern == 1:
        return f"{first} {last[0]}."
    if pattern == 2:
        return f"{lo_first}_{lo_last}"
    if pattern == 3:
        return f"{lo_first}{rng.randint(1, 99):02d}"
    if pattern == 4:
        return f"{lo_first}.{lo_last[0]}"
    if pattern == 5:
        return f"{first}{first[-1] * 2}"
    return first


def _name_candidates(rng: random.Random, lang: str) -> list[str]:
    """Plausible chat names for viewers writing in ``lang`` (may contain duplicates)."""
    names: list[str] = []
    if lang == "zh":
        names.extend(ZH_NAMES)
        names.extend(f"{adj}的{noun}" for adj in ZH_NAME_ADJ for noun in ZH_NAME_NOUN)
        names.extend(f"用户{rng.randrange(10**9, 10**10)}" for _ in range(170))
        rng.shuffle(names)
        return names
    pairs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "en": (EN_FIRST, EN_LAST),
        "et": (ET_FIRST, ET_LAST),
        "es": (ES_FIRST, ES_LAST),
        "de": (DE_FIRST, DE_LAST),
    }
    if lang in pairs:
        firsts, lasts = pairs[lang]
        names.extend(_western_name(rng, rng.choice(firsts), rng.choice(lasts)) for _ in range(400))
        return names
    if lang == "ru":
        for _ in range(400):
            woman = rng.random() < 0.8  # the audience of a handbag stream
            cyr, lat = rng.choice(RU_WOMEN if woman else RU_MEN)
            pattern = rng.randrange(5)
            if pattern == 0:
                names.append(f"{cyr} {rng.choice(RU_INITIALS)}.")
            elif pattern == 1:
                names.append(f"{lat}_{rng.randint(70, 99)}")
            elif pattern == 2 and woman:
                names.append(f"{cyr}{rng.choice(('💅', '🌸', '✨'))}")
            elif pattern == 3:
                names.append(f"{lat}.{rng.choice('abcdefgklmnprstvz')}")
            else:
                names.append(cyr)
        return names
    fixed: Mapping[str, tuple[str, ...]] = {
        "ja": JA_NAMES,
        "ko": KO_NAMES,
        "vi": VI_NAMES,
        "th": TH_NAMES,
        "pt": PT_NAMES,
        "id": ID_NAMES,
    }
    names.extend(fixed[lang])
    rng.shuffle(names)
    return names


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Viewer:
    name: str
    user_id: str
    lang: str
    weight: float
    arrive_s: float
    leave_s: float
    spoken: int = 0
    last_s: float = -1e9


@dataclass(slots=True)
class _Draft:
    """A message under construction; ``reply_target`` becomes ``reply_to`` once ids exist."""

    at_s: float
    role: Role
    user: str
    user_id: str | None
    text: str
    lang: str | None
    intent: str
    product: str | None = None
    reply_target: _Draft | None = None
    viewer: _Viewer | None = None
    answered: bool = False
    seq: int = 0


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """One line of the recording, with the generator's labels."""

    ts: str
    """ISO 8601 UTC with milliseconds."""
    offset_ms: int
    """Milliseconds since the start of the recording."""
    msg_id: str
    user: str
    user_id: str | None
    role: Role
    text: str
    lang: str | None
    reply_to: str | None
    intent: str
    """What the generator meant: ``q_price``, ``distrust_price``, ``greeting``, ``announce``..."""
    topic: Topic | None
    is_question: bool
    distrust: bool
    product: str | None
    """``bag`` or ``jacket`` where the message is about one."""

    def to_record(self) -> dict[str, str]:
        """The JSON object written for this line (labels are not written)."""
        record = {"ts": self.ts, "id": self.msg_id, "platform": PLATFORM, "user": self.user}
        if self.user_id is not None:
            record["user_id"] = self.user_id
        record["role"] = self.role.value
        if self.lang is not None:
            record["lang"] = self.lang
        record["text"] = self.text
        if self.reply_to is not None:
            record["reply_to"] = self.reply_to
        return record


@dataclass(frozen=True, slots=True)
class Recording:
    """The demo recording and the scenario's landmarks."""

    messages: tuple[DemoMessage, ...]
    price_change_id: str
    """Id of the host message announcing the higher price."""
    price_change_ms: int
    surge_window_ms: tuple[int, int]
    """Offsets (ms) of the window in which distrust peaks: the two minutes after the change."""


def _reaction(dt: float, beat: Beat) -> float:
    """Shape of the chat's reaction ``dt`` seconds after a beat, 0..1."""
    if dt < 0:
        return 0.0
    ramp = 1.0 - math.exp(-dt / 5.0)
    if dt <= beat.plateau_s:
        return ramp
    return ramp * math.exp(-(dt - beat.plateau_s) / beat.tau_s)


def _base_rate(t: float) -> float:
    """Viewer messages per second in an ordinary stretch, with a ramp-in and quiet spells."""
    rate = 1.12 * min(1.0, 0.25 + t / 50.0)
    for start, end, factor in ((330.0, 420.0, 0.5), (800.0, 860.0, 0.55)):
        if start <= t < end:
            rate *= factor
    if t > DURATION_S - 30:
        rate *= max(0.15, (DURATION_S - t) / 30.0)
    return rate


def _rate(t: float) -> float:
    return _base_rate(t) + sum(b.rate_boost * _reaction(t - b.at_s, b) for b in SCRIPT)


def _message_times(rng: random.Random) -> list[float]:
    """Viewer message times by thinning a Poisson process with the rate :func:`_rate`."""
    peak = max(_rate(i / 2.0) for i in range(DURATION_S * 2)) * 1.05
    times: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= DURATION_S - 2:
            return times
        if rng.random() * peak < _rate(t):
            times.append(t)


def _product_at(rng: random.Random, t: float) -> str:
    """The product a viewer talks about at ``t`` (a few latecomers still ask about the bag)."""
    if t < JACKET_PREVIEW_S:
        return "bag"
    if t < JACKET_PREVIEW_S + 30:
        return "jacket" if rng.random() < 0.6 else "bag"
    return "jacket" if rng.random() < 0.93 else "bag"


def _phrases(lang: str, intent: str, product: str) -> tuple[str, ...]:
    bank = BANKS[lang]
    return bank.get(intent, ()) + bank.get(f"{intent}_{product}", ())


def _intent_weights(t: float, lang: str, product: str) -> dict[str, float]:
    weights = dict(BASE_INTENT_WEIGHTS)
    if t >= PRICE_CHANGE_S:
        weights["distrust_price"] = LINGERING_DISTRUST
    if t < FIRST_LINK_S:
        weights["purchase"] = 0.0  # nothing to buy before the first link goes up
    for beat in SCRIPT:
        shape = _reaction(t - beat.at_s, beat)
        if shape > 1e-4:
            for intent, extra in beat.boosts.items():
                weights[intent] += extra * shape
    if lang != "zh":
        for intent, factor in FOREIGN_INTENT_FACTORS.items():
            weights[intent] *= factor
    return {
        intent: weight
        for intent, weight in weights.items()
        if weight > 0 and (intent == "neutral" or _phrases(lang, intent, product))
    }


def _choose(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _make_viewers(rng: random.Random) -> dict[str, list[_Viewer]]:
    taken: set[str] = {SHOP_NAME, MODERATOR_NAME, SYSTEM_NAME}
    ids: set[str] = set()
    cast: dict[str, list[_Viewer]] = {}
    for lang, wanted in VIEWERS_PER_LANG.items():
        viewers: list[_Viewer] = []
        for name in _name_candidates(rng, lang):
            if len(viewers) == wanted:
                break
            if name in taken:
                continue
            taken.add(name)
            user_id = f"dy_{rng.randrange(10**10, 10**11)}"
            while user_id in ids:
                user_id = f"dy_{rng.randrange(10**10, 10**11)}"
            ids.add(user_id)
            arrive = 0.0 if rng.random() < 0.35 else rng.uniform(0.0, DURATION_S - 120.0)
            stay = rng.uniform(180.0, DURATION_S)
            weight = min(rng.paretovariate(1.3), 25.0)
            viewers.append(_Viewer(name, user_id, lang, weight, arrive, arrive + stay))
        cast[lang] = viewers
    return cast


def _pick_viewer(
    rng: random.Random, viewers: Sequence[_Viewer], t: float, intent: str
) -> _Viewer | None:
    """A viewer of the language who is in the room and has not just typed."""
    present = [v for v in viewers if v.arrive_s <= t <= v.leave_s and t - v.last_s > 3.0]
    if intent in ("greeting", "first_time"):
        present = [v for v in present if v.spoken == 0]
    elif intent == "goodbye":
        present = [v for v in present if v.spoken > 0]
    if not present:
        return None
    return rng.choices(present, weights=[v.weight for v in present])[0]


def _fill_slots(rng: random.Random, text: str) -> str:
    if "{" not in text:
        return text
    height = rng.randint(150, 182)
    kg = max(42, min(95, round((height - 100) * rng.uniform(0.75, 1.05))))
    return text.format(h=height, jin=kg * 2, kg=kg, size=rng.choice(("S", "M", "L", "XL", "XXL")))


def _typo(rng: random.Random, text: str) -> str:
    """Swap two adjacent letters in one longer word, the way fast thumbs do."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _vary(rng: random.Random, text: str, lang: str, intent: str) -> str:
    """Surface variation so a phrase used twice does not look stamped."""
    question = intent in QUESTION_INTENTS
    qmark = "？" if lang in FULLWIDTH_LANGS and rng.random() < 0.7 else "?"
    if question and lang != "th":
        if text.endswith(("?", "？")):
            roll = rng.random()
            if roll < 0.25:
                text = text.rstrip("?？").removeprefix("¿")
            elif roll < 0.33:
                text += qmark * 2
        elif rng.random() < 0.15:
            text += qmark * rng.choice((1, 1, 1, 2, 3))
    if lang in LATIN_LANGS or lang == "ru":
        roll = rng.random()
        if roll < 0.25:
            text = text.lower()
        elif roll < 0.32 and text[:1].islower():
            text = text[:1].upper() + text[1:]
        if lang in TYPO_LANGS and rng.random() < 0.05:
            text = _typo(rng, text)
    if intent == "distrust_price" and lang not in FULLWIDTH_LANGS and rng.random() < 0.12:
        text = text.upper() if lang in LATIN_LANGS or lang == "ru" else text + "!!!"
    if rng.random() < 0.12:
        pool: tuple[str, ...]
        if question:
            pool = QUESTION_EMOJI
        elif intent in DISTRUST_INTENTS or intent == "complaint":
            pool = NEGATIVE_EMOJI
        else:
            pool = POSITIVE_EMOJI
        text += ("" if lang in FULLWIDTH_LANGS else " ") + rng.choice(pool) * rng.choice((1, 1, 2))
    return text


class _Decks:
    """Phrases dealt like cards: every paraphrase of a bank comes up before any repeats.

    The first phrase of a bank (generic, then product-specific) is its canonical wording and is
    dealt first, so the wordings the banks lead with are sure to be in the recording.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._decks: dict[tuple[str, str, str], list[str]] = {}

    def deal(self, lang: str, intent: str, product: str) -> str:
        key = (lang, intent, product)
        deck = self._decks.get(key)
        if deck is None:
            generic = BANKS[lang].get(intent, ())
            specific = BANKS[lang].get(f"{intent}_{product}", ())
            lead = [*generic[:1], *specific[:1]]
            rest = [*generic[1:], *specific[1:]]
            self._rng.shuffle(rest)
            deck = self._decks[key] = list(reversed(lead + rest))
        elif not deck:
            deck.extend(_phrases(lang, intent, product))
            self._rng.shuffle(deck)
        return deck.pop()


def _viewer_messages(rng: random.Random, cast: Mapping[str, list[_Viewer]]) -> list[_Draft]:
    langs = list(LANG_WEIGHTS)
    lang_weights = [LANG_WEIGHTS[lang] for lang in langs]
    decks = _Decks(rng)
    drafts: list[_Draft] = []
    for t in _message_times(rng):
        lang = rng.choices(langs, weights=lang_weights)[0]
        product = _product_at(rng, t)
        viewer: _Viewer | None = None
        intent = ""
        for _ in range(6):
            intent = _choose(rng, _intent_weights(t, lang, product))
            viewer = _pick_viewer(rng, cast[lang], t, intent)
            if viewer is not None:
                break
        if viewer is None:
            continue
        if intent == "neutral":
            text = rng.choice(NEUTRAL)
            text_lang: str | None = None
        else:
            raw = decks.deal(lang, intent, product)
            text = _vary(rng, _fill_slots(rng, raw), lang, intent)
            text_lang = lang
        viewer.spoken += 1
        viewer.last_s = t
        drafts.append(
            _Draft(
                t,
                Role.VIEWER,
                viewer.name,
                viewer.user_id,
                text,
                text_lang,
                intent,
                product if intent in PRODUCT_INTENTS else None,
                viewer=viewer,
            )
        )
    return drafts


def _reasks(rng: random.Random, drafts: Sequence[_Draft]) -> list[_Draft]:
    """Some askers repeat themselves: in other words, or the same words louder."""
    extra: list[_Draft] = []
    for d in drafts:
        if d.intent not in QUESTION_INTENTS or d.viewer is None or d.lang is None:
            continue
        if rng.random() >= 0.16:
            continue
        at = d.at_s + rng.uniform(15.0, 80.0)
        if at >= DURATION_S - 5 or at > d.viewer.leave_s:
            continue
        assert d.product is not None
        if rng.random() < 0.3:
            text = d.text.rstrip("?？!") + rng.choice(("??", "???", "？？", "!!"))
        else:
            text = _vary(
                rng,
                _fill_slots(rng, rng.choice(_phrases(d.lang, d.intent, d.product))),
                d.lang,
                d.intent,
            )
            prefixes = REASK_PREFIXES.get(d.lang, ())
            if prefixes and rng.random() < 0.5:
                text = rng.choice(prefixes) + text
        extra.append(
            _Draft(
                at,
                Role.VIEWER,
                d.user,
                d.user_id,
                text,
                d.lang,
                d.intent,
                d.product,
                viewer=d.viewer,
            )
        )
    return extra


def _answer_key(d: _Draft, t: float) -> str | None:
    """Which host answer fits a viewer message, or None when the host would not answer it."""
    product = d.product or "bag"
    if d.intent == "q_price":
        if product == "bag":
            return "price_bag"
        if t < PRICE_CHANGE_S:
            return "price_jacket_preview"
        return "price_jacket" if t < EXPLANATION_S else "price_jacket_coupon"
    if d.intent == "distrust_price":
        return "distrust_defend" if t < EXPLANATION_S else "distrust_explain"
    simple = {
        "q_discount": "discount",
        "q_link": "link",
        "q_shipping": "shipping",
        "q_returns": "returns",
        "q_payment": "payment",
        "distrust_base": "distrust_auth",
    }
    if d.intent in simple:
        return simple[d.intent]
    if d.intent in ("q_size", "q_material", "q_stock", "q_usage"):
        return f"{d.intent[2:]}_{product}"
    if d.intent == "host_interaction":
        return f"host_{product}"
    return None


def _host_answers(rng: random.Random, viewer_drafts: Sequence[_Draft]) -> list[_Draft]:
    """The host answers the most asked recent questions now and then, with ``reply_to``."""
    busy = [b.at_s for b in SCRIPT if b.role is Role.HOST]
    answers: list[_Draft] = []
    t = 40.0
    while t < DURATION_S - 20:
        surge = PRICE_CHANGE_S <= t < EXPLANATION_S
        t += rng.uniform(25.0, 40.0) if surge else rng.uniform(10.0, 28.0)
        surge = PRICE_CHANGE_S <= t < EXPLANATION_S
        if PRICE_CHANGE_S <= t < PRICE_CHANGE_S + 25:
            continue  # stunned silence, then the host gets defensive
        for b in busy:
            if abs(t - b) < 6:
                t = b + rng.uniform(6.0, 12.0)  # finish the announcement first
        window = [
            d
            for d in viewer_drafts
            if t - 50 <= d.at_s <= t - 4
            and not d.answered
            and d.lang is not None
            and _answer_key(d, t) is not None
        ]
        if surge:
            window = [d for d in window if d.intent == "distrust_price"]
        if not window:
            continue
        counts = Counter(_answer_key(d, t) for d in window)
        keys = sorted(counts, key=str)
        key = rng.choices(keys, weights=[counts[k] ** 1.5 for k in keys])[0]
        target = rng.choice([d for d in window if _answer_key(d, t) == key])
        assert key is not None and target.lang is not None
        answer_lang = target.lang if target.lang in ("zh", "ru") else "en"
        text = f"@{target.user} {rng.choice(ANSWERS[key][answer_lang])}"
        target.answered = True
        answers.append(
            _Draft(
                t,
                Role.HOST,
                SHOP_NAME,
                SHOP_ID,
                text,
                answer_lang,
                "answer",
                target.product,
                reply_target=target,
            )
        )
    return answers


def _scripted(rng: random.Random, viewer_drafts: Sequence[_Draft]) -> list[_Draft]:
    """The script's host and moderator lines (the lottery winners are drawn from the chat)."""
    drafts: list[_Draft] = []
    for beat in SCRIPT:
        text = beat.text
        if "{w1}" in text:
            entrants = sorted(
                {d.user for d in viewer_drafts if d.intent == "lottery" and d.at_s < beat.at_s}
            )
            w1, w2, w3 = rng.sample(entrants, 3)
            text = text.format(w1=w1, w2=w2, w3=w3)
        user, user_id = (
            (SHOP_NAME, SHOP_ID) if beat.role is Role.HOST else (MODERATOR_NAME, MODERATOR_ID)
        )
        product = "jacket" if beat.at_s >= JACKET_PREVIEW_S else "bag"
        at = beat.at_s - rng.uniform(0.05, 0.95)  # typed a moment before the chat reacts
        drafts.append(_Draft(at, beat.role, user, user_id, text, beat.lang, beat.intent, product))
    return drafts


def _system_notices(rng: random.Random, viewer_drafts: Sequence[_Draft]) -> list[_Draft]:
    """Platform notices: some joins, follows and gifts."""
    firsts: dict[str, _Draft] = {}
    for d in viewer_drafts:
        firsts.setdefault(d.user, d)
    notices: list[_Draft] = []
    for d in firsts.values():
        roll = rng.random()
        at = max(0.5, d.at_s - rng.uniform(2.0, 12.0))
        if roll < 0.055:
            text = f"{d.user} joined" if d.lang not in (None, "zh") else f"{d.user} 来了"
            notices.append(
                _Draft(
                    at,
                    Role.SYSTEM,
                    SYSTEM_NAME,
                    None,
                    text,
                    "en" if text.endswith("joined") else "zh",
                    "join",
                )
            )
        elif roll < 0.075:
            notices.append(
                _Draft(
                    d.at_s + rng.uniform(20, 90),
                    Role.SYSTEM,
                    SYSTEM_NAME,
                    None,
                    f"{d.user} 关注了主播",
                    "zh",
                    "follow",
                )
            )
        elif roll < 0.095:
            gift = rng.choice(("小心心 x5", "玫瑰", "小心心 x1", "人气票", "加油鸭"))
            notices.append(
                _Draft(
                    d.at_s + rng.uniform(5, 60),
                    Role.SYSTEM,
                    SYSTEM_NAME,
                    None,
                    f"{d.user} 送出了 {gift}",
                    "zh",
                    "gift",
                )
            )
    return [n for n in notices if n.at_s < DURATION_S - 1]


def _hand_placed(cast: Mapping[str, list[_Viewer]]) -> list[_Draft]:
    """Lines placed by hand: a handful of texts a careless renderer would mangle or obey, the
    moderator cleaning up after them, and a question from a language too rare to be sure of."""

    def who(lang: str, i: int) -> _Viewer:
        return cast[lang][-1 - i]  # viewers who do not otherwise speak much

    rows = (
        (
            200.317,
            who("en", 0),
            "en",
            "[bold]free[/bold] bag for the first 10 buyers?? "
            "[link=https://lumi-free.example]claim here[/link]",
            "spam",
        ),
        (255.842, who("zh", 0), "zh", "原价<s>699</s>现价399 是真的吗", "distrust_base"),
        (395.126, who("zh", 1), "zh", "\x1b[31mred\x1b[0m 色有没有？", "q_stock"),
        (520.663, who("zh", 2), "zh", "刷屏：" + "主播看看我！" * 330, "spam"),
        (690.409, who("zh", 3), "zh", "加\u200bV\u200b看低价货源，比直播间便宜一半\u200d", "spam"),
        (820.951, who("zh", 4), "zh", "是真\u200b羽绒吗", "q_material"),
        (935.274, who("ru", 0), "ru", "\x1b[2J\x1b[Hразмер М есть", "q_size"),
        (791.508, who("vi", 0), "vi", "size M có không", "q_size"),
    )
    drafts = [
        _Draft(
            at,
            Role.VIEWER,
            v.name,
            v.user_id,
            text,
            lang,
            intent,
            ("jacket" if at >= JACKET_PREVIEW_S else "bag") if intent in INTENT_TOPIC else None,
        )
        for at, v, lang, text, intent in rows
    ]
    drafts.append(
        _Draft(
            527.718,
            Role.MODERATOR,
            MODERATOR_NAME,
            MODERATOR_ID,
            "已移除刷屏消息，请遵守直播间规则",
            "zh",
            "moderation",
        )
    )
    drafts.append(
        _Draft(
            697.305,
            Role.MODERATOR,
            MODERATOR_NAME,
            MODERATOR_ID,
            "请勿相信私下加V的低价货源，谨防诈骗",
            "zh",
            "moderation",
        )
    )
    return drafts


def _timestamp(ms: int) -> str:
    moment = START + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _finish(drafts: list[_Draft]) -> list[DemoMessage]:
    """Sort by time, number the lines, resolve ``reply_to``, attach labels."""
    for seq, d in enumerate(drafts):
        d.seq = seq
    drafts.sort(key=lambda d: (round(d.at_s * 1000), d.seq))
    ids = {id(d): f"dy-{n:06d}" for n, d in enumerate(drafts, start=1)}
    messages: list[DemoMessage] = []
    for d in drafts:
        ms = round(d.at_s * 1000)
        reply_to = ids[id(d.reply_target)] if d.reply_target is not None else None
        messages.append(
            DemoMessage(
                ts=_timestamp(ms),
                offset_ms=ms,
                msg_id=ids[id(d)],
                user=d.user,
                user_id=d.user_id,
                role=d.role,
                text=d.text,
                lang=d.lang,
                reply_to=reply_to,
                intent=d.intent,
                topic=INTENT_TOPIC.get(d.intent) if d.role is Role.VIEWER else None,
                is_question=d.role is Role.VIEWER and d.intent in QUESTION_INTENTS,
                distrust=d.role is Role.VIEWER and d.intent in DISTRUST_INTENTS,
                product=d.product,
            )
        )
    return messages


def build_recording(seed: int = SEED) -> Recording:
    """The whole recording, deterministic in ``seed``."""
    rng = random.Random(seed)
    cast = _make_viewers(rng)
    viewer_drafts = _viewer_messages(rng, cast)
    viewer_drafts += _reasks(rng, viewer_drafts)
    viewer_drafts += _hand_placed(cast)
    viewer_drafts.sort(key=lambda d: d.at_s)
    drafts = list(viewer_drafts)
    drafts += _host_answers(rng, viewer_drafts)
    drafts += _scripted(rng, viewer_drafts)
    drafts += _system_notices(rng, viewer_drafts)
    messages = _finish(drafts)
    change = next(m for m in messages if m.intent == "price_change")
    return Recording(
        messages=tuple(messages),
        price_change_id=change.msg_id,
        price_change_ms=change.offset_ms,
        surge_window_ms=(
            change.offset_ms,
            change.offset_ms + round((SURGE_END_S - PRICE_CHANGE_S) * 1000),
        ),
    )


def render_jsonl(recording: Recording) -> str:
    """The file's text: one JSON object per line, keys in a fixed order, raw UTF-8."""
    return "".join(json.dumps(m.to_record(), ensure_ascii=False) + "\n" for m in recording.messages)


def summarize(recording: Recording) -> str:
    """Counts for humans: messages, viewers, languages, span, surge."""
    msgs = recording.messages
    viewers = [m for m in msgs if m.role is Role.VIEWER]
    by_role = Counter(m.role.value for m in msgs)
    by_lang = Counter(m.lang or "none" for m in viewers)
    start, end = recording.surge_window_ms
    distrust_in = sum(1 for m in viewers if m.distrust and start <= m.offset_ms < end)
    distrust_before = sum(1 for m in viewers if m.distrust and m.offset_ms < start)
    span_s = (msgs[-1].offset_ms - msgs[0].offset_ms) / 1000
    replies = sum(1 for m in msgs if m.reply_to is not None)
    lines = [
        f"messages: {len(msgs)} ({', '.join(f'{k} {v}' for k, v in sorted(by_role.items()))})",
        f"distinct viewers who typed: {len({m.user_id for m in viewers})}",
        "viewer messages by lang: " + ", ".join(f"{k} {v}" for k, v in by_lang.most_common()),
        f"span: {msgs[0].ts} .. {msgs[-1].ts} ({span_s / 60:.1f} min)",
        f"host replies with reply_to: {replies}",
        f"surge window: {_timestamp(start)} .. {_timestamp(end)}; distrust messages in it: "
        f"{distrust_in} ({distrust_in / ((end - start) / 60000):.1f}/min) vs before: "
        f"{distrust_before} ({distrust_before / (start / 60000):.2f}/min)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streamwatch.demo.make_recording",
        description="Write the bundled demo recording (deterministic, offline).",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSONL")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file differs from a fresh generation",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the summary")
    args = parser.parse_args(argv)
    recording = build_recording()
    data = render_jsonl(recording).encode("utf-8")
    if args.check:
        try:
            current = args.output.read_bytes()
        except OSError as exc:
            print(f"error: cannot read {args.output}: {exc}", file=sys.stderr)
            return 1
        if current != data:
            print(f"{args.output} is out of date; run without --check", file=sys.stderr)
            return 1
    else:
        args.output.write_bytes(data)
    if not args.quiet:
        print(summarize(recording))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

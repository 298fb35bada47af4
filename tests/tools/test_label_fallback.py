import json

from ftds.tools.generation.labels import build_label_tree, outline_tree
from tests.fakes.scripted_chat import ScriptedChatModel

OUTLINE = [
    ["中华人民共和国数据安全法", "第一章 总 则"],
    ["中华人民共和国数据安全法", "第三章 数据安全制度"],
    ["中华人民共和国公司法", "第四章 股份有限公司的设立和组织机构"],
]


async def test_a_tree_that_repeats_the_prompt_example_is_refused() -> None:
    copied = json.dumps({"labels": [{"name": "一级标签", "children": [{"name": "二级标签"}]}]}, ensure_ascii=False)
    result = await build_label_tree(OUTLINE, ScriptedChatModel([copied]), language="zh")
    assert result.tree is None
    assert result.failure is not None and result.failure.reason == "labels:copied_example"


async def test_a_real_tree_is_kept() -> None:
    tree = json.dumps({"labels": [{"name": "数据安全", "children": [{"name": "分类分级"}]}]}, ensure_ascii=False)
    result = await build_label_tree(OUTLINE, ScriptedChatModel([tree]), language="zh")
    assert result.tree is not None and result.tree.paths() == ["数据安全", "数据安全/分类分级"]


def test_the_outline_itself_makes_a_law_then_chapter_tree() -> None:
    tree = outline_tree(OUTLINE)
    assert tree is not None
    assert "中华人民共和国数据安全法/第三章 数据安全制度" in tree.paths()
    assert tree.resolve("第三章 数据安全制度") == "中华人民共和国数据安全法/第三章 数据安全制度"
    assert outline_tree([]) is None

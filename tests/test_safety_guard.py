"""The SafetyGuard NLU component overrides whatever the classifier said."""

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from addons.safety_guard import SIGNALS_KEY, SafetyGuard


def classified(text, intent, confidence=0.9):
    message = Message.build(text=text)
    message.set(INTENT, {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY,
        [{"name": intent, "confidence": confidence}, {"name": "urgent_self_harm", "confidence": 0.05}],
        add_to_output=True,
    )
    return message


def run(message):
    return SafetyGuard().process([message])[0]


def test_missed_self_harm_is_overridden():
    message = run(classified("誹謗中傷のせいでもう消えたい", "trouble_defamation"))
    assert message.get(INTENT) == {"name": "urgent_self_harm", "confidence": 1.0}
    ranking = [entry["name"] for entry in message.get(INTENT_RANKING_KEY)]
    assert ranking == ["urgent_self_harm", "trouble_defamation"]
    assert message.get(SIGNALS_KEY) == ["urgent_self_harm"]


def test_nlu_fallback_cannot_hide_danger():
    message = run(classified("殺すって言われてる", "nlu_fallback", 0.45))
    assert message.get(INTENT)["name"] == "urgent_danger"


def test_self_harm_wins_over_a_predicted_danger():
    message = run(classified("ストーカーが怖くて死にたい", "urgent_danger"))
    assert message.get(INTENT)["name"] == "urgent_self_harm"


def test_classifier_self_harm_is_kept_when_rules_see_only_danger():
    message = run(classified("つきまとわれてもう限界", "urgent_self_harm"))
    assert message.get(INTENT)["name"] == "urgent_self_harm"


def test_ordinary_message_is_untouched_and_signals_are_output():
    message = run(classified("PayPayで不正利用された", "trouble_payment_fraud"))
    assert message.get(INTENT)["name"] == "trouble_payment_fraud"
    assert message.as_dict(only_output_properties=True)[SIGNALS_KEY] == []


def ranked(text, *pairs):
    message = Message.build(text=text)
    message.set(INTENT, {"name": pairs[0][0], "confidence": pairs[0][1]}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in pairs], add_to_output=True)
    return message


def test_danger_heard_only_by_the_classifier_in_an_ordinary_message_is_not_kept():
    message = run(
        ranked("子どもの顔と名前が勝手にYouTubeに上げられている", ("urgent_danger", 0.62), ("trouble_privacy", 0.3))
    )
    assert message.get(INTENT)["name"] == "trouble_privacy"
    assert "urgent_danger" not in [e["name"] for e in message.get(INTENT_RANKING_KEY)]


def test_danger_heard_only_by_the_classifier_in_a_plausible_message_is_kept():
    message = run(
        ranked(
            "知らない人から位置情報付きで「今見てる」って来た、怖い", ("urgent_danger", 0.5), ("trouble_privacy", 0.3)
        )
    )
    assert message.get(INTENT)["name"] == "urgent_danger"

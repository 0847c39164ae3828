"""UIO-2's embodied prompt lists (``PROMPT_DICT`` of the JAX release, ``uio/data/prompt_dict.py``).

These strings are facts about the official model: it was instruction-tuned on them, so a codec that
talks to official weights uses them verbatim. Codecs pick one per example (sampled in training,
fixed at evaluation); ``tools/build_tokenizer_corpus.py`` puts them into the tokenizer corpus.
"""

from __future__ import annotations

VIMA_ACTION_DESC = (
    'as a sequence of sentences with the format: "step: start-action from ( a1 b1 r1 ) and end-action to '
    '( a2 b2 r2 )"'
)
VIMA_PROMPT_VERBS = [
    ("Forecast the next actions", "based on"), ("Anticipate next moves", "based on"),
    ("Estimate subsequent actions", "using"), ("Compute next actions", "based on"),
    ("Propose following moves", "based on"), ("Predict forthcoming actions", "based on"),
    ("Project following actions", "based on"), ("Speculate forthcoming actions", "based on"),
    ("Determine next moves", "based on"), ("Surmise subsequent actions", "based on"),
    ("Approximate following actions", "based on"), ("Estimate next moves", "based on"),
    ("Guess next actions", "based on"), ("Formulate next actions", "based on"),
]  # fmt: skip
VIMA_PROMPTS_SHORT = [
    "What is the action plan? Consider the observations",
    "Predict the actions given images",
]
VIMA_TASK_ONLY_PROMPTS = [
    "Predict a sequence of actions to achieve the goal", "Predict a sequence of actions to complete the goal",
    "Predict a sequence of actions to achieve the prompt", "Predict a sequence of actions to complete the prompt",
    "Forecast the next actions to achieve the goal", "Anticipate next sequence of moves to complete the goal",
    "Propose following moves to achieve the goal", "Predict forthcoming actions to finish the goal",
    "Foresee subsequent actions to achieve the goal", "Project following sequence actions to achieve the prompt",
    "Assess subsequent moves", "Expect next actions", "Speculate forthcoming actions", "Determine next moves",
    "Estimate next moves", "Guess next actions", "Evaluate following moves", "Formulate next actions",
]  # fmt: skip
VIMA_BBOX_PHRASES = [
    "bounding boxes of objects", "the bounding boxes' upper left and lower right corners of objects",
    "the y1, x1, y2, x2 coordinates of objects", "the y1, x1, y2, x2 regions of objects",
]  # fmt: skip
NEXT_ACTION_PHRASES = [
    "Foresee the next action", "Anticipate the following action", "Compute the subsequent action",
    "Estimate the next action", "Propose the next move", "Predict the following action",
    "Calculate the next action", "Forecast the next action", "Conjecture the subsequent action",
    "Project the next move", "Estimate the forthcoming action", "Assess the next action",
    "Surmise the next action", "Calculate the following move", "Predict the subsequent action",
    "Determine the next action", "Approximate the next move", "Guess the following action",
    "Formulate the next action",
]  # fmt: skip
POINTNAV_DESC = (
    '{OBS}with the discrete action space "{ACTIONS}" based on agent\'s histories with the format '
    '"observation ( x z y ) action"'
)
POINTNAV_QA = [
    'Is the prediction "{}" correct?', 'Should the agent take "{}" action?',
    'The agent is taking "{}". Do you recommend?', 'Agent is going to "{}". Will this action lead to reach the goal?',
    'Judge if the action is "{}".',
]  # fmt: skip
EMBODIED_GOAL_PROMPTS = [
    "Task: {} Given the start state as image, generate the end state image.",
    'Given the initial observation and prompt "{}", predict the goal image.',
    "Task: {} Predict the observation of the end state based on the initial observation.",
    "The robot is tasked '{}' at the current state. Predict the goal state.",
    "What does the goal image look like given the current robot RGB observation and prompt '{}'?",
    "Imagine what the final image state is after the robot complete the task '{}'",
    "Imagine you are the robot in this scene. Your task is: {} Generate the goal image after the task completed.",
    'What is the final frame after completing the task: "{}"',
]
EMBODIED_HISTORY_PROMPTS = ["History: {}", "Context: {}"]
EMBODIED_TASK_CAPTIONS = [
    "Given the demonstration, what is the task?",
    "I want to write a prompt for this task, can you give me a short one?",
    "Provide me a short prompt for this robot demonstration",
    "What language instruction can be conditioned on this video?",
    "What is the robot doing?",
    "Decompose the task into languages.",
    "Think about a short task description based on the video.",
]
MANIPULATION_HEADERS = [  # (header, lower-case the phrase)
    ("Action space: {ACTION}.\nInstruction: {PROMPT}.\nTask:", False),
    ('The robot with the action space {ACTION} is doing the task "{PROMPT}".', False),
    ('With the continuous action space {ACTION}, the robot is doing the manipulation task "{PROMPT}."', False),
    ('The manipulator is tasked for "{PROMPT}". Given the action space {ACTION},', True),
    ('Imagine you are the robot in the scene with the action space {ACTION}. Based on the prompt "{PROMPT}" '
     "and current observation,", True),
]  # fmt: skip


def vima_instructions() -> list[str]:
    """``PROMPT_DICT["vima"]["original"]``: 14 verb phrases + the action format, and 2 short prompts."""
    long = [
        f"{verb} {VIMA_ACTION_DESC} {prep} the agent's initial observation"
        for verb, prep in VIMA_PROMPT_VERBS
    ]
    return long + list(VIMA_PROMPTS_SHORT)

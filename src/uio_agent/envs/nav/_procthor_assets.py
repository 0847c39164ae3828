"""ProcTHOR floor-object assets, door holes and materials, as data.

Extracted from the PyPI ``procthor`` 0.0.1.dev2 databases (Apache-2.0, allenai/procthor):
``asset-database.json`` (asset ids, bounding boxes in metres, splits), ``placement-annotations.json``
(room-type weights of floor objects), ``wall-holes.json`` (door hole sizes) and
``material-database.json`` (material names). Up to three assets per split and type are kept, so the
generator places real ProcTHOR asset ids without depending on the package (which imports ai2thor).
"""

from __future__ import annotations

from typing import Any

#: objectType -> room-type weights (0-2, ProcTHOR's in<Room>s annotation) and its assets
#: as (assetId, size_x, size_y, size_z, split); sizes are the asset's bounding box in metres.
FLOOR_OBJECTS: dict[str, dict[str, Any]] = {
    "ArmChair": {
        "rooms": {"LivingRoom": 2, "Bedroom": 1},
        "assets": [
            ("ArmChair_213_1", 1.092, 0.974, 0.732, "train"),
            ("Armchair_201_2", 1.0, 0.922, 0.979, "train"),
            ("Armchair_201_3", 0.75, 0.692, 0.734, "train"),
            ("Armchair_201_1", 1.0, 0.922, 0.979, "val"),
            ("Armchair_208_2", 0.857, 0.817, 0.891, "val"),
            ("Armchair_208_5", 1.029, 0.981, 1.069, "val"),
            ("ArmChair_216_1", 1.236, 1.013, 1.035, "test"),
            ("Armchair_201_5", 1.0, 0.922, 0.979, "test"),
            ("Armchair_202_1", 1.412, 1.262, 0.964, "test"),
        ],
    },
    "Bed": {
        "rooms": {"Bedroom": 2},
        "assets": [
            ("Bed_1", 1.467, 0.91, 2.075, "train"),
            ("Bed_12", 1.379, 0.645, 2.083, "train"),
            ("Bed_13", 1.327, 0.834, 2.073, "train"),
            ("Bed_11", 2.049, 1.215, 2.428, "val"),
            ("Bed_25", 1.47, 0.917, 2.076, "val"),
            ("Bed_27", 1.079, 0.709, 2.361, "val"),
            ("Bed_10", 1.525, 1.085, 2.415, "test"),
            ("Bed_15", 1.815, 0.875, 2.384, "test"),
            ("Bed_16", 1.537, 0.917, 2.372, "test"),
        ],
    },
    "Chair": {
        "rooms": {"Kitchen": 2, "LivingRoom": 2, "Bedroom": 2},
        "assets": [
            ("Chair_002_1", 0.469, 0.966, 0.505, "train"),
            ("Chair_007_1", 0.451, 1.043, 0.535, "train"),
            ("Chair_007_2", 0.451, 1.043, 0.535, "train"),
            ("Chair_002_3", 0.469, 0.966, 0.505, "val"),
            ("Chair_007_3", 0.451, 1.043, 0.535, "val"),
            ("Chair_204_2", 0.521, 0.837, 0.582, "val"),
            ("Chair_002_2", 0.592, 1.22, 0.635, "test"),
            ("Chair_007_4", 0.357, 0.825, 0.423, "test"),
            ("Chair_007_5", 0.533, 1.234, 0.633, "test"),
        ],
    },
    "CoffeeTable": {
        "rooms": {"LivingRoom": 1, "Bedroom": 1},
        "assets": [
            ("Coffee_Table_202_1", 1.014, 0.443, 0.655, "train"),
            ("Coffee_Table_202_2", 1.014, 0.443, 0.655, "train"),
            ("Coffee_Table_206_1", 1.206, 0.471, 0.505, "train"),
            ("Coffee_Table_203_1", 1.201, 0.544, 0.711, "val"),
            ("Coffee_Table_204_1", 1.137, 0.436, 1.116, "val"),
            ("Coffee_Table_221_1", 1.059, 0.348, 0.643, "val"),
            ("Coffee_Table_201_1", 0.628, 0.594, 0.627, "test"),
            ("Coffee_Table_206_3", 0.883, 0.354, 0.365, "test"),
            ("Coffee_Table_207_1", 1.412, 0.471, 0.674, "test"),
        ],
    },
    "Desk": {
        "rooms": {"LivingRoom": 1, "Bedroom": 2},
        "assets": [
            ("Desk_204_1", 1.979, 0.734, 0.785, "train"),
            ("Desk_304_1", 1.625, 1.634, 0.66, "train"),
            ("Desk_305_1", 1.329, 1.21, 0.555, "train"),
            ("Desk_301_1", 1.518, 1.73, 0.423, "val"),
            ("Desk_302_1", 1.728, 0.796, 1.181, "val"),
            ("Desk_320_1_1", 1.827, 1.105, 0.538, "val"),
            ("Desk_229_1", 1.136, 0.748, 0.534, "test"),
            ("Desk_303_1", 1.129, 0.592, 0.534, "test"),
            ("Desk_306_1", 1.392, 0.9, 0.743, "test"),
        ],
    },
    "DiningTable": {
        "rooms": {"Kitchen": 1, "LivingRoom": 1},
        "assets": [
            ("Dining_Table_16_2", 1.468, 0.825, 1.487, "train"),
            ("Dining_Table_201_1", 1.779, 0.678, 0.988, "train"),
            ("Dining_Table_205_1", 1.121, 0.742, 1.123, "train"),
            ("Dining_Table_204_1", 1.808, 0.641, 1.007, "val"),
            ("Dining_Table_208_2", 1.447, 0.635, 0.803, "val"),
            ("Dining_Table_230_1", 2.214, 0.769, 1.24, "val"),
            ("Dining_Table_16_1", 1.468, 0.825, 1.487, "test"),
            ("Dining_Table_203_1", 1.473, 0.75, 0.988, "test"),
            ("Dining_Table_216_1", 1.001, 1.063, 0.992, "test"),
        ],
    },
    "Dresser": {
        "rooms": {"LivingRoom": 2, "Bedroom": 2, "Bathroom": 1},
        "assets": [
            ("Dresser_209_1", 2.287, 0.697, 0.381, "train"),
            ("Dresser_210_1_1", 1.189, 1.091, 0.585, "train"),
            ("Dresser_217_1", 2.288, 0.981, 0.7, "train"),
            ("Dresser_213_1", 2.095, 0.729, 0.78, "val"),
            ("Dresser_219_1", 2.581, 1.107, 0.79, "val"),
            ("Dresser_319_1", 1.516, 0.818, 0.494, "val"),
            ("Dresser_205_1", 1.204, 0.697, 0.38, "test"),
            ("Dresser_210_2_1", 0.929, 0.848, 0.459, "test"),
            ("Dresser_220_1", 1.23, 1.29, 0.452, "test"),
        ],
    },
    "FloorLamp": {
        "rooms": {"LivingRoom": 2},
        "assets": [
            ("Floor_Lamp_10", 0.538, 1.89, 0.611, "train"),
            ("Floor_Lamp_11", 0.574, 1.935, 0.573, "train"),
            ("Floor_Lamp_14", 0.535, 1.899, 0.547, "train"),
            ("Floor_Lamp_12", 0.574, 1.801, 0.611, "val"),
            ("Floor_Lamp_13", 0.574, 2.003, 0.573, "val"),
            ("Floor_Lamp_25", 0.531, 2.086, 0.506, "val"),
            ("Floor_Lamp_1", 0.486, 2.083, 0.486, "test"),
            ("Floor_Lamp_16", 0.535, 1.878, 0.522, "test"),
            ("Floor_Lamp_17", 0.399, 1.796, 0.399, "test"),
        ],
    },
    "Fridge": {
        "rooms": {"Kitchen": 2},
        "assets": [
            ("Fridge_1", 1.013, 1.967, 0.724, "train"),
            ("Fridge_10", 0.866, 1.878, 0.716, "train"),
            ("Fridge_14", 0.879, 1.528, 0.766, "train"),
            ("Fridge_13", 1.145, 1.769, 0.674, "val"),
            ("Fridge_16", 1.166, 1.917, 0.748, "val"),
            ("Fridge_25", 0.79, 1.791, 0.681, "val"),
            ("Fridge_11", 0.914, 1.967, 0.723, "test"),
            ("Fridge_12", 0.81, 1.775, 0.637, "test"),
            ("Fridge_17", 1.052, 1.913, 0.796, "test"),
        ],
    },
    "GarbageCan": {
        "rooms": {"Kitchen": 2, "LivingRoom": 2, "Bedroom": 2, "Bathroom": 2},
        "assets": [
            ("bin_1", 0.504, 0.5, 0.34, "train"),
            ("bin_10", 0.445, 0.539, 0.333, "train"),
            ("bin_13", 0.471, 0.578, 0.37, "train"),
            ("bin_12", 0.378, 0.578, 0.333, "val"),
            ("bin_24", 0.381, 0.543, 0.381, "val"),
            ("bin_28", 0.509, 0.463, 0.457, "val"),
            ("RoboTHOR_garbage_bin_ai2_1_v", 0.377, 0.381, 0.267, "test"),
            ("bin_11", 0.496, 0.578, 0.333, "test"),
            ("bin_15", 0.366, 0.56, 0.322, "test"),
        ],
    },
    "ShelvingUnit": {
        "rooms": {"Kitchen": 2, "LivingRoom": 2, "Bedroom": 1},
        "assets": [
            ("Shelving_Unit_001_1", 0.939, 1.484, 0.466, "train"),
            ("Shelving_Unit_215_1", 1.852, 1.286, 0.525, "train"),
            ("Shelving_Unit_219_1", 0.788, 2.071, 0.475, "train"),
            ("Shelving_Unit_206_1", 0.666, 2.203, 0.303, "val"),
            ("Shelving_Unit_206_2", 0.666, 2.203, 0.303, "val"),
            ("RoboTHOR_shelving_unit_kallax_large", 0.417, 1.47, 0.396, "test"),
            ("RoboTHOR_shelving_unit_kallax_small_2_v", 0.783, 0.772, 0.396, "test"),
            ("Shelving_Unit_319_1", 1.103, 1.005, 0.238, "test"),
        ],
    },
    "SideTable": {
        "rooms": {"Kitchen": 1, "LivingRoom": 2, "Bedroom": 2, "Bathroom": 1},
        "assets": [
            ("RoboTHOR_side_table_fornbro", 0.547, 0.517, 0.55, "train"),
            ("RoboTHOR_side_table_hol", 0.513, 0.502, 0.504, "train"),
            ("RoboTHOR_side_table_tingby", 0.506, 0.451, 0.51, "train"),
            ("RoboTHOR_side_table_havsta_v", 0.502, 0.481, 0.502, "val"),
            ("Side_Table_203_2", 0.832, 0.868, 0.328, "val"),
            ("Side_Table_214_1", 0.625, 0.59, 0.627, "val"),
            ("RoboTHOR_side_table_hopen", 1.001, 0.494, 0.448, "test"),
            ("RoboTHOR_side_table_nested_havsta_v", 0.43, 0.409, 0.472, "test"),
            ("RoboTHOR_side_table_strind", 0.526, 0.626, 0.53, "test"),
        ],
    },
    "Sofa": {
        "rooms": {"LivingRoom": 2, "Bedroom": 1},
        "assets": [
            ("RoboTHOR_sofa_alrid", 1.549, 0.817, 0.947, "train"),
            ("RoboTHOR_sofa_vreta", 1.774, 0.723, 0.798, "train"),
            ("Sofa_201_1", 2.586, 1.151, 0.978, "train"),
            ("RoboTHOR_sofa_kramfors", 1.682, 0.723, 0.909, "val"),
            ("RoboTHOR_sofa_solsta", 1.563, 0.825, 0.892, "val"),
            ("Sofa_207_5", 2.817, 1.008, 1.124, "val"),
            ("RoboTHOR_sofa_ektorp_v", 1.821, 0.891, 0.945, "test"),
            ("Sofa_201_3", 1.931, 1.02, 0.786, "test"),
            ("Sofa_201_4", 2.586, 1.151, 0.978, "test"),
        ],
    },
    "Stool": {
        "rooms": {"Kitchen": 2, "LivingRoom": 1, "Bedroom": 1},
        "assets": [
            ("Stool_1_3", 0.307, 0.757, 0.309, "train"),
            ("Stool_2_1", 0.59, 0.755, 0.379, "train"),
            ("Stool_2_3", 0.59, 0.755, 0.379, "train"),
            ("Stool_2_2", 0.354, 0.453, 0.227, "val"),
            ("Stool_5_1", 0.544, 0.463, 0.334, "val"),
            ("Stool_1_1", 0.307, 0.757, 0.309, "test"),
            ("Stool_1_2", 0.307, 0.757, 0.309, "test"),
        ],
    },
    "TVStand": {
        "rooms": {"LivingRoom": 2},
        "assets": [
            ("TV_Stand_204_1", 1.218, 0.689, 0.897, "train"),
            ("TV_Stand_206_1", 1.205, 0.753, 0.604, "train"),
            ("TV_Stand_206_3", 1.205, 0.753, 0.604, "train"),
            ("TV_Stand_201_1", 1.014, 0.716, 0.658, "val"),
            ("TV_Stand_206_2", 1.896, 0.753, 0.52, "val"),
            ("TV_Stand_202_1", 1.202, 0.704, 0.894, "test"),
            ("TV_Stand_223_1", 1.016, 0.714, 0.351, "test"),
        ],
    },
}

#: single-door asset id -> (hole width, hole height) in metres (``wall-holes.json`` max corner).
DOOR_HOLES: dict[str, tuple[float, float]] = {
    "Doorway_1": (1.073, 2.128),
    "Doorway_2": (0.992, 2.071),
    "Doorway_3": (1.019, 2.079),
    "Doorway_4": (1.037, 2.101),
    "Doorway_5": (1.033, 2.092),
    "Doorway_6": (1.036, 2.105),
    "Doorway_7": (1.029, 2.093),
    "Doorway_8": (1.049, 2.098),
    "Doorway_9": (0.999, 2.074),
    "Doorway_10": (1.038, 2.1),
}

#: wall and floor material names from ``material-database.json``.
WALL_MATERIALS: tuple[str, ...] = (
    "BrickSmallNew0073_4_S",
    "BrownDrywall",
    "CeramicTiles1",
    "CeramicTiles2",
    "CeramicTiles3",
    "CreamMarbleTiles",
    "CreameDrywall",
    "DarkTiles",
    "DarkTiles 1",
    "Drywall",
    "Drywall3",
    "Drywall4Tiled",
    "DrywallBeige",
    "DrywallEggshell",
    "DrywallEggshellTiled",
    "DrywallGreen",
    "DrywallOrange",
    "EggshellDrywall",
    "EggshellDrywall 1",
    "EggshellDrywall 2",
    "EggshellDrywall 3",
    "FireplaceTiles",
    "FireplaceTiles2",
    "HexTiles",
)
FLOOR_MATERIALS: tuple[str, ...] = (
    "BedroomFloor1",
    "DarkWoodFloors",
    "GreyFloor",
    "GreyFloor 1",
    "GreyFloor 2",
    "GreyFloor 3",
    "WoodFineDarkFloorsRedNRM",
    "WoodFineDarkFloorsRedNRM1",
    "WoodFineDarkFloorsRedNRM2",
    "WoodFloorsCross",
    "WoodFloorsCrossRED",
    "WoodFloorsCrossREDGlossy",
    "BedroomCarpet",
    "Carpet1",
    "Carpet1Lit",
    "Carpet2",
    "Carpet3",
    "Carpet4",
    "ConcreteFloor",
    "ConcreteFloorSmooth",
    "ConcreteFloorSmooth 1",
    "KitchenFloor",
    "TexturesCom_Marble Floor Tiles 1_diffuse_S",
)

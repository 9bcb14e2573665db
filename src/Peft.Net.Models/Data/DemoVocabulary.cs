namespace Peft.Net.Models.Data;

/// <summary>Fixed word lists the demo generators draw from (part of the data's definition: changing them changes every sample).</summary>
internal static class DemoVocabulary
{
    public static readonly string[] Words =
    [
        "apple", "river", "planet", "garden", "window", "silver", "orange", "candle", "forest", "button", "rocket", "pencil",
        "mirror", "island", "bridge", "castle", "dragon", "winter", "summer", "yellow", "purple", "basket", "kitten", "tomato",
        "guitar", "marble", "pepper", "violin", "anchor", "butter", "helmet", "jungle", "lemon", "meadow", "needle", "puzzle",
        "rabbit", "saddle", "tunnel", "wallet", "zipper", "cloud", "stone", "tiger", "music", "light", "bread", "chair",
        "ocean", "house", "green", "quiet", "happy", "swift", "bright", "gentle", "excellence", "banana", "committee", "balloon",
    ];

    public static readonly string[] Names = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jules", "Kira", "Luis"];

    public static readonly string[] Adjectives = ["small", "old", "red", "quiet", "bright", "heavy", "strange", "wooden", "friendly", "tired", "clever", "distant"];

    public static readonly string[] Nouns = ["dog", "train", "lamp", "book", "boat", "garden", "letter", "song", "key", "clock", "river", "city"];

    public static readonly string[] Verbs = ["found", "painted", "repaired", "followed", "described", "forgot", "visited", "carried", "opened", "watched"];

    public static readonly string[] Places =
        ["near the station", "in the morning", "after the rain", "behind the old mill", "at the market", "before dinner", "on the hill", "by the lake"];

    public static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    /// <summary>A made-up country → capital table (no real-world knowledge involved).</summary>
    public static readonly (string Country, string Capital)[] Capitals =
    [
        ("Velmora", "Quistal"), ("Draskun", "Orvel"), ("Thalinor", "Membrath"), ("Ostrevia", "Kelloway"),
        ("Brunmark", "Sefton"), ("Calvesh", "Ardenne"), ("Zorvania", "Pellucid"), ("Morrowind Vale", "Tessaly"),
        ("Quenholm", "Varrick"), ("Estravel", "Lunmoor"), ("Fennoria", "Galdric"), ("Ismara", "Corvallo"),
        ("Nerathis", "Obbin"), ("Pralcia", "Dunmere"), ("Ruvenna", "Halcyra"), ("Syldor", "Wexbury"),
    ];
}

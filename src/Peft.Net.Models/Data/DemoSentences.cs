namespace Peft.Net.Models.Data;

/// <summary>Template sentences for plain-text demo data.</summary>
internal static class DemoSentences
{
    public static string Create(Random random)
    {
        string name = Pick(random, DemoVocabulary.Names), other = Pick(random, DemoVocabulary.Names);
        string adjective = Pick(random, DemoVocabulary.Adjectives), noun = Pick(random, DemoVocabulary.Nouns);
        string verb = Pick(random, DemoVocabulary.Verbs), place = Pick(random, DemoVocabulary.Places);
        string day = Pick(random, DemoVocabulary.Days);
        var (country, capital) = Pick(random, DemoVocabulary.Capitals);
        return random.Next(6) switch
        {
            0 => $"{name} {verb} the {adjective} {noun} {place}.",
            1 => $"On {day}, {name} and {other} {verb} a {adjective} {noun}.",
            2 => $"The capital of {country} is {capital}.",
            3 => $"Every {noun} in the city was {adjective}, or so {name} said.",
            4 => $"{name} counted {random.Next(2, 20)} pictures of the {noun} {place}.",
            _ => $"\"Where is the {noun}?\" asked {name}. \"It is {place},\" said {other}.",
        };
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}

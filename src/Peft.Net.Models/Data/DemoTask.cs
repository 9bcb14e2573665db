namespace Peft.Net.Models.Data;

/// <summary>Families of generated instruction/response pairs; every answer follows from the prompt alone.</summary>
public enum DemoTask
{
    /// <summary>"What is 17 + 25?" → "42" (addition, subtraction or multiplication of small numbers).</summary>
    Arithmetic,

    /// <summary>"Reverse the word \"planet\"." → "tenalp".</summary>
    ReverseWord,

    /// <summary>"Write \"green apple\" in capital letters." → "GREEN APPLE".</summary>
    Uppercase,

    /// <summary>"Sort these numbers from smallest to largest: 5, 12, 3" → "3, 5, 12".</summary>
    SortNumbers,

    /// <summary>"How many times does the letter \"e\" appear in \"excellence\"?" → "4".</summary>
    CountLetter,

    /// <summary>"What is the capital of Velmora?" → "Quistal", from the made-up <see cref="DemoDataGenerator.Capitals"/> table.</summary>
    CapitalLookup,

    /// <summary>"If today is Monday, what day will it be in 10 days?" → "Thursday".</summary>
    DayOfWeek,
}

using System.Text.Json;

namespace Peft.Net.Models;

/// <summary>Reads a model folder's JSON files with errors that name the file.</summary>
internal static class JsonFile
{
    /// <summary>Parses <paramref name="path"/>; malformed JSON becomes an <see cref="InvalidDataException"/> naming the file.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON.</exception>
    public static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }
}

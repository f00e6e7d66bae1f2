using System.Globalization;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// One real-room fault call of eng/audio/fault-calls.txt ("name|options of make-echo-call.sh"), as the tests and the
/// echo-side-by-side benchmark both make it: with <c>--minutes 1</c> added, so drift builds up and a path change has a
/// before and an after.
/// </summary>
public sealed record EchoFaultCall(string Name, IReadOnlyList<string> Options)
{
    /// <summary>When the echo path changes (<c>--path-change</c>), or null.</summary>
    public TimeSpan? PathChange => Value("--path-change") is { } seconds ? TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)) : null;

    /// <summary>The value after an option, or null when the call does not have it.</summary>
    public string? Value(string option)
    {
        for (var i = 0; i + 1 < Options.Count; i++)
        {
            if (Options[i] == option)
            {
                return Options[i + 1];
            }
        }

        return null;
    }

    /// <summary>Every call in the list file, in its order; lines starting with # are comments.</summary>
    public static IReadOnlyList<EchoFaultCall> Read(string file) =>
        [.. File.ReadAllLines(file)
            .Where(line => !line.StartsWith('#') && line.Contains('|', StringComparison.Ordinal))
            .Select(line =>
            {
                var bar = line.IndexOf('|', StringComparison.Ordinal);
                return new EchoFaultCall(line[..bar], [.. line[(bar + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries), "--minutes", "1"]);
            })];
}

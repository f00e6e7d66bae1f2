using System.Collections.Immutable;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// The names the operator wants redacted (customers, staff), one a line in <c>scrub-names.txt</c> in the data
/// directory: a detector cannot know them, so the operator keeps the list on the Scrub page or through the API.
/// </summary>
public sealed class ScrubNames(DataDirectory data) : IDisposable
{
    public const string FileName = "scrub-names.txt";
    public const int MostNames = 10_000;
    public const int MostNameLength = 100;

    // One at a time: a read that started before a save must not cache the old list after it.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImmutableArray<string>? _cached;

    public async Task<ImmutableArray<string>> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _cached ??= Parse(await data.ReadTextAsync(FileName, cancellationToken).ConfigureAwait(false) ?? string.Empty);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Replaces the list after checking every line.</summary>
    /// <exception cref="ValidationFailedException">A name is empty of letters, too long or holds control characters, or there are too many.</exception>
    public async Task<ImmutableArray<string>> SetAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        var list = Check(names);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await data.WriteAtomicAsync(FileName, string.Join('\n', list) + (list.Length > 0 ? "\n" : string.Empty), cancellationToken).ConfigureAwait(false);
            _cached = list;
            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The distinct names of the list, checked (the page and the API refuse what this refuses).</summary>
    public static ImmutableArray<string> Check(IEnumerable<string> names)
    {
        var errors = new List<FieldError>();
        var list = names.Select(n => n.Trim()).Where(n => n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToImmutableArray();
        if (list.Length > MostNames)
        {
            errors.Add(new FieldError("names", $"at most {MostNames:N0} names, not {list.Length:N0}"));
        }

        foreach (var name in list.Take(MostNames))
        {
            if (name.Length > MostNameLength)
            {
                errors.Add(new FieldError("names", $"'{Validators.Printable(name[..20])}…' is longer than {MostNameLength} characters"));
            }
            else if (name.Any(char.IsControl))
            {
                errors.Add(new FieldError("names", $"'{Validators.Printable(name)}' holds control characters"));
            }
            else if (!name.Any(char.IsLetter))
            {
                errors.Add(new FieldError("names", $"'{Validators.Printable(name)}' has no letters: a name list is for names"));
            }
        }

        return errors.Count == 0 ? list : throw new ValidationFailedException(errors);
    }

    private static ImmutableArray<string> Parse(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && !l.Any(char.IsControl) && l.Length <= MostNameLength).Distinct(StringComparer.OrdinalIgnoreCase)];

    public void Dispose() => _gate.Dispose();
}

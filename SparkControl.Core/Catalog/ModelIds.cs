using System.Text;

namespace SparkControl.Core.Catalog;

/// <summary>Derives catalog ids from repo ids and directory names, and makes them unique.</summary>
public static class ModelIds
{
    /// <summary><c>Qwen/Qwen3-8B</c> → <c>qwen3-8b</c>; <c>/models/My_FT v2</c> → <c>my_ft-v2</c>.</summary>
    public static string Derive(string source)
    {
        var name = source.TrimEnd('/');
        name = name[(name.LastIndexOf('/') + 1)..].ToLowerInvariant();
        var builder = new StringBuilder();
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        }

        var id = builder.ToString().Trim('-', '.', '_');
        while (id.Contains("--", StringComparison.Ordinal))
        {
            id = id.Replace("--", "-", StringComparison.Ordinal);
        }

        if (id.Length == 0 || !char.IsAsciiLetterOrDigit(id[0]))
        {
            id = "model-" + id;
        }

        return id.Length > 56 ? id[..56].TrimEnd('-', '.', '_') : id;
    }

    /// <summary><paramref name="id"/>, or <c>id-2</c>, <c>id-3</c>… whichever is free.</summary>
    public static string Unique(string id, Func<string, bool> taken)
    {
        if (!taken(id))
        {
            return id;
        }

        for (var n = 2; ; n++)
        {
            var candidate = $"{id}-{n}";
            if (!taken(candidate))
            {
                return candidate;
            }
        }
    }
}

using ArchUnitNET.Domain;

namespace SparkControl.Tests.Architecture;

/// <summary>
/// The layer table of <c>SparkControl.Core</c>, the one place it is written (the README's map shows it): folders from
/// the bottom up. A folder may use folders before it in <see cref="Order"/> and itself, never one after it, so there is
/// no cycle and every arrow between capabilities points one way.
/// </summary>
public static class CoreLayers
{
    public const string Root = "SparkControl.Core";

    public static readonly IReadOnlyList<(string Layer, string[] Folders)> Table =
    [
        ("primitives", ["Units", "Validation", "Collections", "Streams", "Yaml", "Shell", "Configuration", "Diagnostics"]),
        ("storage", ["Storage", "Secrets", "Audit"]),
        ("remote execution", ["Remote"]),
        ("Spark hosts", ["Hosts"]),
        ("capabilities", ["Access", "Sparks", "Catalog", "Launch", "Services", "Gpu", "Swaps", "Nim", "Disk", "Gateway", "Vectors", "Maintenance", "Audio.Signal", "Audio.Echo", "Audio.LabelMerge", "Audio", "Operations"]),
    ];

    /// <summary>Every folder, lowest first.</summary>
    public static string[] Order => [.. Table.SelectMany(l => l.Folders)];

    /// <summary>The folder of <paramref name="ns"/> in <paramref name="order"/> (the longest that matches), or null.</summary>
    public static string? FolderOf(string ns, IReadOnlyList<string> order)
    {
        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var relative = ns[(Root.Length + 1)..];
        return order.Where(f => relative == f || relative.StartsWith(f + ".", StringComparison.Ordinal)).OrderByDescending(f => f.Length).FirstOrDefault();
    }

    /// <summary>"Folder: type → Folder: type" for every dependency that goes to a folder later in <paramref name="order"/>.</summary>
    public static List<string> Violations(IEnumerable<IType> types, IReadOnlyList<string> order)
    {
        var rank = order.Select((folder, i) => (folder, i)).ToDictionary(p => p.folder, p => p.i);
        var found = new List<string>();
        foreach (var type in types)
        {
            if (FolderOf(type.Namespace?.FullName ?? string.Empty, order) is not { } from)
            {
                continue;
            }

            foreach (var target in type.Dependencies.Select(d => d.Target).DistinctBy(t => t.FullName))
            {
                if (FolderOf(target.Namespace?.FullName ?? string.Empty, order) is { } to && rank[to] > rank[from])
                {
                    found.Add($"{from}: {Outer(type.FullName)} → {to}: {Outer(target.FullName)}");
                }
            }
        }

        return [.. found.Distinct()];
    }

    /// <summary>A compiler-made nested type (a lambda's closure, an async state machine) under the type that wrote it.</summary>
    private static string Outer(string fullName) => fullName.Split('+')[0];
}

using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Disk;

/// <summary>One model folder of a Spark's Hugging Face cache, with who still needs it.</summary>
/// <param name="Folder">The folder's name, <c>models--ORG--NAME</c>.</param>
/// <param name="RepoId">The repo id the name stands for, <c>ORG/NAME</c> (or <c>NAME</c>).</param>
/// <param name="Bytes">Apparent size, symlinks followed (<c>du -sbL</c>); null when it could not be measured.</param>
/// <param name="ReferencedBy">Catalog entries that use it.</param>
/// <param name="InUseBy">Running containers whose command names it.</param>
public sealed record HfCacheFolder(string Folder, string RepoId, long? Bytes, ImmutableArray<string> ReferencedBy, ImmutableArray<string> InUseBy)
{
    public bool Referenced => ReferencedBy.Length > 0;

    public bool InUse => InUseBy.Length > 0;

    /// <summary>Only a folder that nothing references and nothing runs from may be deleted.</summary>
    public bool Deletable => !Referenced && !InUse;

    /// <summary>A symlink in the hub directory: deleting it removes the link only, so it frees nothing.</summary>
    public bool IsSymlink { get; init; }

    /// <summary>What deleting it frees: its size, or nothing for a link (its target stays).</summary>
    public long FreedByDeleting => IsSymlink ? 0 : Bytes ?? 0;
}

/// <summary>The model folders of one Spark's HF cache.</summary>
/// <param name="ContainersProblem">Why running containers could not be read (then nothing counts as deletable).</param>
public sealed record HfCacheListing(string Spark, string HubPath, ImmutableArray<HfCacheFolder> Folders, string? ContainersProblem = null)
{
    /// <summary>Whether the cleanup offers the folder: deletable, and the containers were read (else nobody can tell).</summary>
    public bool Offers(HfCacheFolder folder) => ContainersProblem is null && folder.Deletable;

    public long ReclaimableBytes => Folders.Where(Offers).Sum(f => f.FreedByDeleting);
}

/// <summary>
/// The weights cleanup's rules, kept pure so they are tested as tables: how a cache folder's name maps to a repo id,
/// which catalog entries reference it, and which running containers use it.
/// </summary>
public static class HfCacheRules
{
    public const string ModelPrefix = "models--";

    /// <summary>
    /// <c>models--Qwen--Qwen3-8B</c> → <c>Qwen/Qwen3-8B</c>, <c>models--gpt2</c> → <c>gpt2</c>, as huggingface_hub's cache
    /// scan decodes it (every <c>--</c> a <c>/</c>; the hub forbids <c>--</c> in names). Null for a name the cleanup
    /// refuses (<see cref="Validators.HfCacheFolder"/>).
    /// </summary>
    public static string? RepoIdOf(string folder) =>
        Validators.HfCacheFolder(folder) is null ? folder[ModelPrefix.Length..].Replace("--", "/", StringComparison.Ordinal) : null;

    /// <summary>
    /// The catalog entries that need the folder, on either Spark: a Hugging Face entry of the same repo (ids compared
    /// case-insensitively, as the hub does), one whose extra vLLM arguments name the repo (a <c>--tokenizer</c>, a draft
    /// model), and a local entry on this Spark whose directory lies inside the folder (a snapshot served by path).
    /// A local entry's directory name is never read as a repo id.
    /// </summary>
    public static ImmutableArray<string> ReferencedBy(string folder, string repoId, IEnumerable<ModelDefinition> models, string spark, string hubPath)
    {
        var folderPath = $"{hubPath.TrimEnd('/')}/{folder}";
        return [.. models.Where(m => m.Source switch
        {
            HuggingFaceSource hf => string.Equals(hf.Repo, repoId, StringComparison.OrdinalIgnoreCase),
            LocalSource local => string.Equals(local.Spark, spark, StringComparison.OrdinalIgnoreCase) && Validators.IsUnder(local.Path, folderPath),
            _ => false,
        } || m.Flags.ExtraArgs.Any(a => string.Equals(a, repoId, StringComparison.OrdinalIgnoreCase)))
            .Select(m => m.Id)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The running containers that use the folder: their command names the repo id as a word (<c>vllm serve
    /// Qwen/Qwen3-8B</c>, <c>--model=Qwen/Qwen3-8B</c>) or a path through the folder. A container the panel started for a
    /// catalog model is covered by <see cref="ReferencedBy"/>; this catches one started by hand. A false match only keeps
    /// a folder, so the words are matched loosely (case-insensitive).
    /// </summary>
    public static ImmutableArray<string> InUseBy(string folder, string repoId, IEnumerable<ContainerSummary> containers)
    {
        var repo = new Regex($"(?<![^\\s\"'=]){Regex.Escape(repoId)}(?![^\\s\"'])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var path = new Regex($"(?<![^\\s\"'=/]){Regex.Escape(folder)}(?![^\\s\"'/])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return [.. containers
            .Where(c => c.State is ContainerStatus.Running or ContainerStatus.Restarting or ContainerStatus.Paused)
            .Where(c => repo.IsMatch(c.Command) || path.IsMatch(c.Command))
            .Select(c => c.Name)
            .Order(StringComparer.Ordinal)];
    }
}

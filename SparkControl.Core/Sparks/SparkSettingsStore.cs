using System.Collections.Immutable;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Sparks;

/// <summary>The Sparks in <c>sparks.yaml</c>, and what was wrong with the file if anything.</summary>
public sealed record SparkSettings(ImmutableArray<SparkDefinition> Sparks, ImmutableArray<ConfigProblem> Problems) : YamlList<SparkDefinition>(Sparks, Problems)
{
    public static readonly SparkSettings Empty = new([], []);

    public SparkDefinition? Find(string name) => Sparks.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// The one place Sparks are configured: <c>sparks.yaml</c>, edited from the Settings page or the API. A Spark is not
/// changed or removed while a swap or host action runs on it: the new settings would replace its connection under them.
/// </summary>
public sealed class SparkSettingsStore(DataDirectory dataDirectory, Remote.SshKeyStore keys, SparkWork work, TimeProvider time) : YamlListStore<SparkDefinition, SparkSettings>(dataDirectory, time)
{
    protected override string FileName => SparksYaml.FileName;

    protected override (ImmutableArray<SparkDefinition> Items, ImmutableArray<ConfigProblem> Problems) Read(string text, string file) => SparksYaml.Read(text, file);

    protected override string Write(IEnumerable<SparkDefinition> items) => SparksYaml.Write(items);

    protected override SparkSettings Create(ImmutableArray<SparkDefinition> items, ImmutableArray<ConfigProblem> problems) => new(items, problems);

    /// <summary>The shared rules, and a key that lies where keys may be read (checked again, on the real file, at connect).</summary>
    protected override IReadOnlyList<FieldError> Validate(SparkDefinition item) =>
        item.KeyPath is not null && keys.CheckLocation(item.KeyPath) is { } keyProblem && !SparkValidation.Validate(item).Any(e => e.Field == "keyPath")
            ? [.. SparkValidation.Validate(item), new FieldError("keyPath", keyProblem)]
            : SparkValidation.Validate(item);

    protected override IDisposable BeginChange(string key) => work.BeginEdit(key);

    protected override string KeyOf(SparkDefinition item) => item.Name;

    protected override string Describe(string key) => $"A Spark named '{key}'";
}

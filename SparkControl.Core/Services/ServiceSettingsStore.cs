using System.Collections.Immutable;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Services;

/// <summary>The services in <c>services.yaml</c>, and what was wrong with the file if anything.</summary>
public sealed record ServiceSettings(ImmutableArray<ServiceDefinition> Services, ImmutableArray<ConfigProblem> Problems) : YamlList<ServiceDefinition>(Services, Problems);

/// <summary>The services on each Spark: <c>services.yaml</c>, edited from the Settings page.</summary>
public sealed class ServiceSettingsStore(DataDirectory dataDirectory, TimeProvider time) : YamlListStore<ServiceDefinition, ServiceSettings>(dataDirectory, time)
{
    protected override string FileName => ServicesYaml.FileName;

    protected override (ImmutableArray<ServiceDefinition> Items, ImmutableArray<ConfigProblem> Problems) Read(string text, string file) => ServicesYaml.Read(text, file);

    protected override string Write(IEnumerable<ServiceDefinition> items) => ServicesYaml.Write(items);

    protected override ServiceSettings Create(ImmutableArray<ServiceDefinition> items, ImmutableArray<ConfigProblem> problems) => new(items, problems);

    protected override IReadOnlyList<FieldError> Validate(ServiceDefinition item) => ServicesYaml.Validate(item);

    protected override string KeyOf(ServiceDefinition item) => item.Key;

    protected override string Describe(string key) => $"The service {key}";
}

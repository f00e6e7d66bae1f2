using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;

namespace SparkControl.Web.Hosting;

/// <summary>
/// Decides at startup which Sparks the panel manages: those in <c>sparks.yaml</c>, plus the simulated Spark "demo"
/// when none is configured (or <c>Demo:Mode</c> is On), and publishes them with their services and catalog.
/// </summary>
public sealed partial class FleetInitializer(
    DataDirectory dataDirectory,
    SparkFleet fleet,
    ModelCatalog catalog,
    IServiceProvider services,
    IOptions<DemoOptions> demoOptions,
    IOptions<SparkControlOptions> options,
    ILogger<FleetInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var problems = ImmutableArray.CreateBuilder<ConfigProblem>();
        var sparks = ImmutableArray<SparkDefinition>.Empty;
        var sparksText = await ReadAsync(SparksYaml.FileName, problems, cancellationToken);
        if (sparksText is not null)
        {
            var (read, sparkProblems) = SparksYaml.Read(sparksText, dataDirectory.Resolve(SparksYaml.FileName));
            sparks = read;
            problems.AddRange(sparkProblems);
        }

        var mode = demoOptions.Value.Mode;
        var demo = mode == DemoMode.On || (mode == DemoMode.Auto && sparks.IsEmpty && problems.Count == 0);
        var entries = ImmutableArray.CreateBuilder<SparkEntry>();
        var serviceList = ImmutableArray.CreateBuilder<ServiceDefinition>();
        var models = ImmutableArray.CreateBuilder<ModelDefinition>();
        if (demo)
        {
            entries.Add(new SparkEntry(DemoSpark.Definition, services.GetRequiredService<SimulatedSparkHost>(), IsSimulated: true));
            serviceList.AddRange(DemoSpark.LoadServices());
            models.AddRange(DemoSpark.LoadCatalog().Models);
        }

        if (!sparks.IsEmpty)
        {
            LogRealSparksPending(sparks.Length);
            problems.Add(new ConfigProblem(dataDirectory.Resolve(SparksYaml.FileName), null,
                $"{sparks.Length} Spark(s) are configured, but this build cannot reach real Sparks over SSH yet"));
            var servicesText = await ReadAsync(ServicesYaml.FileName, problems, cancellationToken);
            if (servicesText is not null)
            {
                var (read, serviceProblems) = ServicesYaml.Read(servicesText, dataDirectory.Resolve(ServicesYaml.FileName));
                serviceList.AddRange(read);
                problems.AddRange(serviceProblems);
            }

            var catalogFile = options.Value.CatalogFile;
            if (File.Exists(catalogFile))
            {
                var (read, catalogProblems) = CatalogYaml.Read(await File.ReadAllTextAsync(catalogFile, cancellationToken), catalogFile, ModelOrigin.Shipped);
                models.AddRange(read);
                problems.AddRange(catalogProblems);
            }
        }

        foreach (var problem in problems)
        {
            LogProblem(problem.ToString());
        }

        catalog.Publish(new CatalogSnapshot(models.ToImmutable(), []));
        fleet.Publish(new FleetConfiguration(entries.ToImmutable(), serviceList.ToImmutable(), demo) { Problems = problems.ToImmutable() });
        LogFleet(entries.Count, demo);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<string?> ReadAsync(string file, ImmutableArray<ConfigProblem>.Builder problems, CancellationToken cancellationToken)
    {
        try
        {
            return await dataDirectory.ReadTextAsync(file, cancellationToken);
        }
        catch (DataDirectoryException ex)
        {
            problems.Add(new ConfigProblem(ex.FilePath, null, ex.Message));
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Managing {Count} Spark(s); demo mode: {Demo}")]
    private partial void LogFleet(int count, bool demo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration problem: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} real Spark(s) configured; SSH support is not in this build")]
    private partial void LogRealSparksPending(int count);
}

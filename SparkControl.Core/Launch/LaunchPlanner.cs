using Microsoft.Extensions.Options;
using SparkControl.Core.Collections;
using SparkControl.Core.Hosts;
using SparkControl.Core.Secrets;
using SparkControl.Core.Shell;
using SparkControl.Core.Sparks;
using SparkControl.Core.Catalog;

namespace SparkControl.Core.Launch;

/// <summary>How a model is started: one <c>docker run</c>, or eugr's launch-cluster.sh.</summary>
public enum LaunchKind
{
    DockerRun,
    LaunchCluster,
}

/// <summary>
/// Everything needed to start one model on one Spark, and the exact command that will run. The preview on the
/// Models page and the swap both come from here, so what the operator reads is what runs.
/// </summary>
public sealed record LaunchPlan(ModelDefinition Model, string Spark, LaunchKind Kind)
{
    /// <summary>For a plain <c>docker run</c> (vLLM, NIM): the container and its argv.</summary>
    public ContainerLaunch? Container { get; init; }

    /// <summary>For a model on both Sparks: the launch-cluster.sh start and its argv.</summary>
    public ClusterLaunch? Cluster { get; init; }

    /// <summary>The command that starts the model, as it runs on the Spark.</summary>
    public ValueArray<string> Argv => Container?.Argv ?? Cluster?.Argv ?? [];

    /// <summary>Secrets the Spark's env file must hold before the launch (names of environment variables).</summary>
    public ValueArray<string> SecretVariables { get; init; }

    /// <summary>True for NIM: log in to <see cref="Registry"/> with the NGC key (on stdin) before the launch.</summary>
    public bool NeedsRegistryLogin { get; init; }

    /// <summary>The registry the image comes from (the one the login is for).</summary>
    public string? Registry { get; init; }

    /// <summary>What the operator should fix before this launch can work (a missing NGC key).</summary>
    public ValueArray<string> Warnings { get; init; }

    /// <summary>Why this launch must not run at all (a local model's directory that is gone or leads out of its roots).</summary>
    public ValueArray<string> Blockers { get; init; }

    public string CommandLine => ShellCommand.Join(Argv);
}

/// <summary>Builds <see cref="LaunchPlan"/>s for catalog models on configured Sparks.</summary>
public sealed class LaunchPlanner(SecretStore secrets, IOptionsMonitor<NimOptions>? nim = null)
{
    public async Task<LaunchPlan> PlanAsync(ModelDefinition model, SparkEntry spark, CancellationToken cancellationToken, VllmFlags? flags = null)
    {
        model = flags is null ? model : model with { Flags = flags };
        // A local model on both Sparks lies at the same path on each (preflight checks every node); one on a single Spark
        // runs only where it lies.
        if (model.Source is LocalSource local && model.Placement != ModelPlacement.Cluster && !string.Equals(local.Spark, spark.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{model.Id} is a directory on {local.Spark}; it cannot run on {spark.Name}.");
        }

        var definition = spark.Definition;

        // A local model is served from its real path, checked now (not only when it was registered): the mount's source
        // is that resolved path, so a symlink changed after this check cannot change what the container reads.
        string? localReal = null;
        string? localProblem = null;
        if (model.Source is LocalSource checkedLocal)
        {
            (localReal, localProblem) = await LocalModelInspector.ResolveInsideRootsAsync(spark.Host, definition, checkedLocal.Path, cancellationToken).ConfigureAwait(false);
        }

        var (adapters, blockers) = await ResolveAdaptersAsync(model, spark, cancellationToken).ConfigureAwait(false);
        if (localProblem is not null)
        {
            blockers.Insert(0, localProblem);
        }

        var plan = await PlanCoreAsync(model, spark, localReal, adapters, cancellationToken).ConfigureAwait(false);
        return blockers.Count == 0 ? plan : plan with { Blockers = [.. blockers, .. plan.Blockers] };
    }

    /// <summary>
    /// The model's adapters on this Spark with their real paths, checked inside the roots at every launch as a local
    /// model is; what stops one (a directory gone or leading out, a runtime that cannot load adapters) blocks the launch.
    /// </summary>
    private static async Task<(List<(LoraAdapter, string)> Adapters, List<string> Blockers)> ResolveAdaptersAsync(ModelDefinition model, SparkEntry spark, CancellationToken cancellationToken)
    {
        var adapters = new List<(LoraAdapter, string)>();
        var blockers = new List<string>();
        var attached = model.AdaptersOn(spark.Name).ToList();
        if (attached.Count > 0 && LoraAdapterInspector.CannotServe(model) is { } refusal)
        {
            blockers.Add(refusal);
            return (adapters, blockers);
        }

        foreach (var adapter in attached)
        {
            var (real, problem) = await LocalModelInspector.ResolveInsideRootsAsync(spark.Host, spark.Definition, adapter.Path, cancellationToken).ConfigureAwait(false);
            if (problem is not null)
            {
                blockers.Add($"adapter {adapter.Name}: {problem}");
            }
            else
            {
                adapters.Add((adapter, real!));
            }
        }

        return (adapters, blockers);
    }

    private async Task<LaunchPlan> PlanCoreAsync(ModelDefinition model, SparkEntry spark, string? localReal, IReadOnlyList<(LoraAdapter, string)> adapters, CancellationToken cancellationToken)
    {
        var definition = spark.Definition;
        var hfCache = await spark.Host.ExpandHomeAsync(definition.HfCachePath, cancellationToken).ConfigureAwait(false);
        switch (model.Runtime)
        {
            case ModelRuntime.Nim:
            {
                // NIM is the one container that holds a secret (it downloads from NGC itself).
                var envFile = await spark.Host.ExpandHomeAsync(DockerSparkHost.SecretsDirectory + "/secrets.env", cancellationToken).ConfigureAwait(false);
                var nimCache = await spark.Host.ExpandHomeAsync(model.NimCache ?? LaunchSpecs.NimCachePath, cancellationToken).ConfigureAwait(false);
                var spec = LaunchSpecs.Nim(model, definition, nimCache, envFile);
                var hasKey = secrets.Reveal(SecretStore.NgcApiKey) is not null;
                var refusal = (nim?.CurrentValue ?? new NimOptions()).RegistryRefusal(spec.Image);
                return new LaunchPlan(model, spark.Name, LaunchKind.DockerRun)
                {
                    Container = ContainerLaunch.Of(spec),
                    SecretVariables = ["NGC_API_KEY"],
                    NeedsRegistryLogin = true,
                    Registry = ImageRegistry.Of(spec.Image),
                    Warnings = hasKey ? [] : ["NIM needs the NGC API key: set the secret ngc-api-key in Settings."],
                    // The NGC key is sent to the image's registry at login: only to one the operator named.
                    Blockers = refusal is null ? [] : [refusal],
                };
            }

            case ModelRuntime.LaunchCluster:
            {
                var settings = definition.LaunchCluster
                    ?? throw new InvalidOperationException($"{spark.Name} has no launchCluster settings; add the path of launch-cluster.sh in Settings.");
                var modelArgument = model.Source is LocalSource path ? path.Path : ((HuggingFaceSource)model.Source).Repo;
                var volumes = new List<BindMount>();
                // A local directory, or weights the swap has put in every node's HF cache first: the containers never
                // ask the hub, and never hold the token.
                var environment = new List<KeyValuePair<string, string>> { KeyValuePair.Create("HF_HUB_OFFLINE", "1") };
                if (model.Source is LocalSource localSource)
                {
                    // launch-cluster.sh applies every -v on every node, so a model on both Sparks is mounted by the path
                    // they share (each node's copy was checked inside its roots at preflight); on one Spark, by its real path.
                    var source = model.Placement == ModelPlacement.Cluster ? localSource.Path : localReal ?? localSource.Path;
                    volumes.Add(new BindMount(source, localSource.Path, ReadOnly: true));
                }

                volumes.AddRange(definition.ExtraMounts.Select(m => m.Split(':')).Select(p => new BindMount(p[0], p[1], p.Length > 2 && p[2] == "ro")));
                var start = new LaunchClusterStart
                {
                    ServeCommand = ["vllm", .. VllmArguments.Serve(model, modelArgument, model.Placement == ModelPlacement.Cluster ? 2 : null)],
                    HfCachePath = hfCache,
                    Volumes = [.. volumes],
                    Environment = [.. environment],
                    Labels = [.. LaunchSpecs.ModelLabels(model)],
                };
                return new LaunchPlan(model, spark.Name, LaunchKind.LaunchCluster) { Cluster = ClusterLaunch.Of(settings, start) };
            }

            default:
            {
                // HF_TOKEN goes to the download step only (on stdin): the swap fetches the weights before the launch, so
                // the container runs offline and never holds the token (docker inspect, --trust-remote-code).
                var spec = LaunchSpecs.Vllm(model, definition, hfCache, localReal, adapters);
                return new LaunchPlan(model, spark.Name, LaunchKind.DockerRun) { Container = ContainerLaunch.Of(spec) };
            }
        }
    }

    /// <summary>The variables named by the plan, with their values, for the Spark's 0600 env file.</summary>
    public IReadOnlyDictionary<string, string> SecretValues(LaunchPlan plan)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in plan.SecretVariables)
        {
            var secret = variable switch
            {
                "NGC_API_KEY" => secrets.Reveal(SecretStore.NgcApiKey),
                _ => null,
            };
            if (secret is not null)
            {
                values[variable] = secret;
            }
        }

        return values;
    }
}

using System.Collections.Immutable;
using SparkControl.Core.Yaml;
using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Sparks;

/// <summary>Reads and writes <c>sparks.yaml</c>.</summary>
public static class SparksYaml
{
    public const string FileName = "sparks.yaml";

    public static (ImmutableArray<SparkDefinition> Sparks, ImmutableArray<ConfigProblem> Problems) Read(string text, string file)
    {
        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, file, problems);
        var sparks = ImmutableArray.CreateBuilder<SparkDefinition>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in root.Maps("sparks"))
        {
            var before = problems.Count;
            var spark = ReadSpark(entry);
            if (spark is null || problems.Count > before)
            {
                continue;
            }

            if (!names.Add(spark.Name))
            {
                entry.Problem($"Spark '{spark.Name}' appears more than once");
                continue;
            }

            sparks.Add(spark);
        }

        root.RejectUnknown();
        return (sparks.ToImmutable(), [.. problems]);
    }

    private static SparkDefinition? ReadSpark(YamlMap map)
    {
        var name = map.String("name", required: true);
        var host = map.String("host", required: true);
        var port = map.Int("port") ?? 22;
        var user = map.String("user", required: true);
        var keyPath = map.String("keyPath");
        var roleText = map.String("role") ?? "standalone";
        var role = ParseRole(roleText);
        if (role is null)
        {
            map.ProblemAt("role", $"role '{roleText}' must be standalone, head or worker");
        }

        var hfCache = map.String("hfCachePath");
        var roots = map.Strings("modelRoots");
        var pathPrefix = map.Strings("pathPrefix");
        var gpus = map.String("gpus") ?? "all";
        var network = map.String("networkMode") ?? "host";
        var image = map.String("vllmImage");
        var mounts = map.Strings("extraMounts");
        var launch = ReadLaunchCluster(map.Map("launchCluster"));
        map.RejectUnknown();
        if (name is null || host is null || user is null || role is null)
        {
            return null;
        }

        var spark = new SparkDefinition
        {
            Name = name,
            Host = host,
            Port = port,
            User = user,
            KeyPath = keyPath,
            Role = role.Value,
            ModelRoots = [.. roots],
            PathPrefix = [.. pathPrefix],
            Gpus = gpus,
            NetworkMode = network,
            ExtraMounts = [.. mounts],
            LaunchCluster = launch,
        };
        if (hfCache is not null)
        {
            spark = spark with { HfCachePath = hfCache };
        }

        if (image is not null)
        {
            spark = spark with { VllmImage = image };
        }

        ReportProblems(map, spark);
        return spark;
    }

    /// <summary>The validators the form and API use, each problem placed at the YAML key it is about.</summary>
    private static void ReportProblems(YamlMap map, SparkDefinition spark)
    {
        foreach (var error in SparkValidation.Validate(spark))
        {
            var field = error.Field.Split('.')[0];
            if (field == "launchCluster" && map.Map("launchCluster") is null)
            {
                map.Problem(error.Message);
            }
            else
            {
                map.ProblemAt(field, error.Message);
            }
        }
    }

    public static SparkRole? ParseRole(string? text) => text switch
    {
        "standalone" => SparkRole.Standalone,
        "head" => SparkRole.Head,
        "worker" => SparkRole.Worker,
        _ => null,
    };

    private static LaunchClusterSettings? ReadLaunchCluster(YamlMap? map)
    {
        if (map is null)
        {
            return null;
        }

        var script = map.String("script", required: true);
        var nodes = map.Strings("nodes");
        var container = map.String("containerName") ?? "vllm_node";
        var image = map.String("image");
        map.RejectUnknown();
        return script is null ? null : new LaunchClusterSettings { Script = script, Nodes = [.. nodes], ContainerName = container, Image = image };
    }

    /// <summary><c>/host/path:/container/path[:ro]</c>, both absolute and normalized.</summary>
    public static string? ValidateMount(string mount)
    {
        var parts = mount.Split(':');
        if (parts.Length is < 2 or > 3 || (parts.Length == 3 && parts[2] is not ("ro" or "rw")))
        {
            return $"mount '{Validators.Printable(mount)}' must be /host/path:/container/path or /host/path:/container/path:ro";
        }

        // Each half's reason is given with the whole mount as it was typed: a half alone reads like something else.
        return (Validators.AbsolutePath(parts[0], "its source") ?? Validators.AbsolutePath(parts[1], "its target")) is { } problem
            ? $"mount '{Validators.Printable(mount)}': {problem}"
            : null;
    }

    public static string Write(IEnumerable<SparkDefinition> sparks) => new YamlWriter()
        .Add("sparks", sparks.Select(WriteSpark))
        .ToYaml("Sparks managed by Spark Control. Edited from the Settings page; see README, \"Configuring real Sparks\".");

    private static YamlWriter WriteSpark(SparkDefinition spark) => new YamlWriter()
        .Add("name", spark.Name)
        .Add("host", spark.Host)
        .Add("port", spark.Port)
        .Add("user", spark.User)
        .Add("keyPath", spark.KeyPath)
        .Add("role", spark.Role.ToString().ToLowerInvariant())
        .Add("hfCachePath", spark.HfCachePath)
        .Add("modelRoots", spark.ModelRoots)
        .Add("pathPrefix", spark.PathPrefix)
        .Add("gpus", spark.Gpus)
        .Add("networkMode", spark.NetworkMode)
        .Add("vllmImage", spark.VllmImage)
        .Add("extraMounts", spark.ExtraMounts)
        .Add("launchCluster", spark.LaunchCluster is { } launch
            ? new YamlWriter()
                .Add("script", launch.Script)
                .Add("nodes", launch.Nodes)
                .Add("containerName", launch.ContainerName)
                .Add("image", launch.Image)
            : null);
}

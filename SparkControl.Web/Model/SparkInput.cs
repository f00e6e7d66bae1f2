using SparkControl.Core.Sparks;
using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>A Spark as the API and the Settings form send it; mapped to a <see cref="SparkDefinition"/> in one place.</summary>
public static class SparkInput
{
    public sealed record LaunchClusterBody(string? Script, string[]? Nodes, string? ContainerName, string? Image);

    public sealed record SparkBody(
        string? Name,
        string? Host,
        int? Port,
        string? User,
        string? KeyPath,
        string? Role,
        string? HfCachePath,
        string[]? ModelRoots,
        string[]? PathPrefix,
        string? Gpus,
        string? NetworkMode,
        string? VllmImage,
        string[]? ExtraMounts,
        LaunchClusterBody? LaunchCluster);

    /// <summary>Maps a request body to a Spark, collecting every field error at once.</summary>
    public static SparkDefinition ToDefinition(SparkBody body)
    {
        var role = RequireFields(body);
        var spark = new SparkDefinition
        {
            Name = body.Name!,
            Host = body.Host!,
            Port = body.Port ?? 22,
            User = body.User!,
            KeyPath = string.IsNullOrEmpty(body.KeyPath) ? null : body.KeyPath,
            Role = role,
            ModelRoots = [.. body.ModelRoots ?? []],
            PathPrefix = [.. body.PathPrefix ?? []],
            Gpus = body.Gpus ?? "all",
            NetworkMode = body.NetworkMode ?? "host",
            ExtraMounts = [.. body.ExtraMounts ?? []],
            LaunchCluster = body.LaunchCluster is { } launch
                ? new LaunchClusterSettings { Script = launch.Script!, Nodes = [.. launch.Nodes ?? []], ContainerName = launch.ContainerName ?? "vllm_node", Image = launch.Image }
                : null,
        };
        if (!string.IsNullOrEmpty(body.HfCachePath))
        {
            spark = spark with { HfCachePath = body.HfCachePath };
        }

        if (!string.IsNullOrEmpty(body.VllmImage))
        {
            spark = spark with { VllmImage = body.VllmImage };
        }

        return spark;
    }

    /// <summary>The fields without which there is no Spark to validate (the shared validators check the rest); the role, parsed.</summary>
    private static SparkRole RequireFields(SparkBody body)
    {
        var errors = new List<FieldError>();
        var role = SparksYaml.ParseRole(body.Role ?? "standalone");
        if (role is null)
        {
            errors.Add(new FieldError("role", $"role '{Validators.Printable(body.Role ?? string.Empty)}' must be standalone, head or worker"));
        }

        if (string.IsNullOrEmpty(body.Name))
        {
            errors.Add(new FieldError("name", "name is required"));
        }

        if (string.IsNullOrEmpty(body.Host))
        {
            errors.Add(new FieldError("host", "host is required"));
        }

        if (string.IsNullOrEmpty(body.User))
        {
            errors.Add(new FieldError("user", "user is required"));
        }

        if (body.LaunchCluster is { Script: null or "" })
        {
            errors.Add(new FieldError("launchCluster.script", "launchCluster.script is required"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        return role!.Value;
    }

    /// <summary>The form's view of an existing Spark.</summary>
    public static SparkBody FromDefinition(SparkDefinition spark) => new(
        spark.Name, spark.Host, spark.Port, spark.User, spark.KeyPath, spark.Role.ToString().ToLowerInvariant(), spark.HfCachePath,
        [.. spark.ModelRoots], [.. spark.PathPrefix], spark.Gpus, spark.NetworkMode, spark.VllmImage, [.. spark.ExtraMounts],
        spark.LaunchCluster is { } l ? new LaunchClusterBody(l.Script, [.. l.Nodes], l.ContainerName, l.Image) : null);
}

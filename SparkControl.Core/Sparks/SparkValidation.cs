using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Sparks;

/// <summary>Every rule a Spark's settings must meet, as field errors: used by sparks.yaml, the API and the Settings form.</summary>
public static class SparkValidation
{
    public static IReadOnlyList<FieldError> Validate(SparkDefinition spark)
    {
        var errors = new List<FieldError>();
        void Check(string field, string? error)
        {
            if (error is not null)
            {
                errors.Add(new FieldError(field, error));
            }
        }

        Check("name", Validators.Name(spark.Name, "name"));
        Check("host", Validators.Host(spark.Host));
        Check("port", Validators.Port(spark.Port));
        Check("user", Validators.Name(spark.User, "user"));
        if (spark.KeyPath is not null)
        {
            Check("keyPath", Validators.AbsolutePath(spark.KeyPath, "keyPath"));
        }

        Check("hfCachePath", Validators.HomeOrAbsolutePath(spark.HfCachePath, "hfCachePath"));

        foreach (var root in spark.ModelRoots)
        {
            Check("modelRoots", Validators.AbsolutePath(root, "modelRoots"));
        }

        foreach (var directory in spark.PathPrefix)
        {
            Check("pathPrefix", Validators.AbsolutePath(directory, "pathPrefix"));
        }

        if (spark.Gpus is not ("all" or "none"))
        {
            errors.Add(new FieldError("gpus", "gpus must be all or none"));
        }

        if (spark.NetworkMode != "host")
        {
            errors.Add(new FieldError("networkMode", "networkMode must be host: vLLM on a Spark serves on the host's network"));
        }

        Check("vllmImage", ImageReference(spark.VllmImage, "vllmImage"));
        foreach (var mount in spark.ExtraMounts)
        {
            Check("extraMounts", SparksYaml.ValidateMount(mount));
        }

        if (spark.LaunchCluster is { } launch)
        {
            errors.AddRange(ValidateLaunchCluster(launch));
        }

        return errors;
    }

    private static IEnumerable<FieldError> ValidateLaunchCluster(LaunchClusterSettings launch)
    {
        var checks = new List<(string Field, string? Error)>
        {
            ("launchCluster.script", Validators.AbsolutePath(launch.Script, "launchCluster.script")),
            ("launchCluster.containerName", Validators.Name(launch.ContainerName, "launchCluster.containerName")),
        };
        checks.InsertRange(1, launch.Nodes.Select(node => ("launchCluster.nodes", Validators.Host(node, "launchCluster.nodes"))));
        if (launch.Image is not null)
        {
            checks.Add(("launchCluster.image", ImageReference(launch.Image, "launchCluster.image")));
        }

        return checks.Where(c => c.Error is not null).Select(c => new FieldError(c.Field, c.Error!));
    }

    /// <summary>A container image reference: registry/repository:tag or @digest, no spaces or shell characters.</summary>
    public static string? ImageReference(string? image, string field = "image")
    {
        if (string.IsNullOrEmpty(image))
        {
            return $"{field} is required";
        }

        return image.Length <= 255 && System.Text.RegularExpressions.Regex.IsMatch(image, "^[a-z0-9][a-z0-9._/:@-]*\\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)
            && !image.Contains("//", StringComparison.Ordinal) && !image.Contains("..", StringComparison.Ordinal)
            ? null
            : $"{field} '{Validators.Printable(image)}' is not an image reference like nvcr.io/nvidia/vllm:25.10-py3";
    }
}

using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Core.Remote;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>What the model dialogs tell the operator when saving fails; null for an exception they should not catch.</summary>
internal static class ModelDialogs
{
    public static List<string>? Describe(Exception exception) => exception switch
    {
        ValidationFailedException validation => [.. validation.Errors.Select(e => e.Message)],
        SettingsConflictException or StaleVersionException or KeyNotFoundException or ConfigFileException or DataDirectoryException
            or SparkUnreachableException or SparkCommandException or InvalidOperationException or Core.Access.AccessRefusedException => [exception.Message],
        _ => null,
    };
}

namespace SparkControl.Core.Validation;

/// <summary>A validation failure for one input field; the API returns these as problem-details <c>errors</c>, forms show them under the field.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>Input failed validation; nothing was changed.</summary>
public sealed class ValidationFailedException(IReadOnlyList<FieldError> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}

/// <summary>How a form shows its errors: each under the field it names.</summary>
public static class FieldErrors
{
    /// <summary>The first message for <paramref name="field"/>, or null when the field is fine.</summary>
    public static string? For(this IEnumerable<FieldError> errors, string field) => errors.FirstOrDefault(e => e.Field == field)?.Message;

    /// <summary>Adds <paramref name="error"/> for <paramref name="field"/> when there is one: a validator's null means the value is fine.</summary>
    public static void AddIf(this List<FieldError> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors.Add(new FieldError(field, error));
        }
    }
}

//! The shape every algorithm's `config.json` shares, written once:
//! [`algorithm_config!`](crate::algorithm_config).

/// An algorithm's `config.json` type: the network's config first, then what the algorithm
/// fitted on its training data, then every training setting; the inference modules' view of
/// it, which reads the settings without the optimiser and schedule only training uses; and
/// [`ArtifactConfig`](crate::artifacts::ArtifactConfig), building the network from the first
/// field.
///
/// ```ignore
/// module_kit::algorithm_config! {
///     /// `config.json` of Iris.
///     IrisConfig (module IrisModuleConfig, options IrisOptions) {
///         model: IrisModelConfig => IrisModel,
///         /// Standardisation statistics of the training split.
///         preprocessing: Standardizer,
///     }
/// }
/// ```
#[macro_export]
macro_rules! algorithm_config {
    (
        $(#[$meta:meta])*
        $config:ident (module $module_config:ident, options $options:ty) {
            model: $model_config:ty => $model:ty,
            $($(#[$field_meta:meta])* $field:ident: $field_ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $config<T = $crate::settings::TrainingSettings<$options>> {
            pub model: $model_config,
            $($(#[$field_meta])* pub $field: $field_ty,)*
            /// Every training setting
            /// ([`TrainingSettings`](module_kit::settings::TrainingSettings)); what a module
            /// reads of them in
            #[doc = concat!("[`", stringify!($module_config), "`].")]
            pub training: T,
        }

        /// `config.json` as the inference module reads it: the network, its preprocessing and
        /// the algorithm's options, without the optimiser and schedule only training uses.
        pub type $module_config = $config<$crate::settings::InferenceSettings<$options>>;

        impl $crate::artifacts::ArtifactConfig for $config {
            type Model = $model;

            fn build_model(&self, layers: &impl $crate::layers::Layers) -> $model {
                self.model.build(layers)
            }
        }
    };
}

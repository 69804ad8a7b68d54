import { asError } from './errors'
import { useFewshotBoardStore } from './fewshot-board'
import { useFewshotViewStore } from './fewshot-view'
import { useModelStore } from './model'

/**
 * "Try the few-shot demo": opens the demo model that knows 5 Fashion-MNIST classes as the current
 * model and puts the 5 classes it never saw on the board, support and query as the demo's folders
 * say (resources/demo/fewshot, made by scripts/demo/make_demo.py). False when something failed; the
 * Few-shot view then shows why.
 */
export async function tryFewshotDemo(): Promise<boolean> {
  const model = useModelStore()
  const view = useFewshotViewStore()
  try {
    const demo = (await model.loadDemo()).fewshot
    if (!(await model.open(demo.modelPath))) {
      view.error = model.error
      return false
    }
    return await useFewshotBoardStore().addSplitFolders(demo.supportDir, demo.queryDir)
  } catch (err) {
    view.error = asError(err)
    return false
  }
}
